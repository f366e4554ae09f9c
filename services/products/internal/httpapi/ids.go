package httpapi

import (
	"bytes"
	"encoding/json"

	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/platform/apperr"
)

// nullableID is a PATCH field that tells "absent" (leave as is) from
// null (clear) and from an id (set).
type nullableID struct {
	Set   bool
	Value *string
}

// UnmarshalJSON runs only for a field present in the body.
func (n *nullableID) UnmarshalJSON(b []byte) error {
	n.Set = true
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	return json.Unmarshal(b, &n.Value)
}

// id parses the value; a malformed one is a 422 on field.
func (n nullableID) id(field string) (*uuid.UUID, error) {
	if n.Value == nil {
		return nil, nil
	}
	id, err := uuid.Parse(*n.Value)
	if err != nil {
		return nil, apperr.Validation(apperr.FieldError{Field: field, Message: "must be a UUID"})
	}
	return &id, nil
}

// parseOptionalID parses an id already checked by a `uuid` validate tag.
func parseOptionalID(s *string) *uuid.UUID {
	if s == nil {
		return nil
	}
	id := uuid.MustParse(*s)
	return &id
}
