package events

import (
	"context"
	"errors"
	"fmt"
)

// Apply is a Handler that decodes an event's data as T and calls apply
// with the event id and the data. Data that does not decode, and an error
// of apply that is one of permanent (errors.Is), drop the event; any other
// error asks for it again.
func Apply[T any](apply func(ctx context.Context, eventID string, data T) error, permanent ...error) Handler {
	return func(ctx context.Context, e Event) error {
		var data T
		if err := e.Decode(&data); err != nil {
			return fmt.Errorf("decode %s event %s: %w", e.Topic, e.ID, err)
		}
		err := apply(ctx, e.ID, data)
		for _, p := range permanent {
			if errors.Is(err, p) {
				return Drop(fmt.Errorf("%s event %s: %w", e.Topic, e.ID, err))
			}
		}
		return err
	}
}
