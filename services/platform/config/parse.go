package config

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

var durationType = reflect.TypeFor[time.Duration]()

// Parse fills the struct dst points to from the environment: each field
// with an env tag from its variable, or from its default tag when the
// variable is unset. A field without a default keeps the value it has, so
// a caller sets defaults known only at run time before parsing. Struct
// fields without an env tag are read field by field. Supported types:
// string, int, time.Duration ("15s") and []string (comma-separated, blanks
// dropped). Every malformed value is reported, each with its variable.
func Parse(getenv Getenv, dst any) error {
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("config: Parse needs a pointer to a struct, got %T", dst)
	}
	var errs []error
	for f := range settings(v.Elem().Type()) {
		raw, ok := getenv(f.name), true
		if raw == "" {
			raw, ok = f.tag.Lookup("default")
		}
		if !ok {
			continue
		}
		if err := set(v.Elem().FieldByIndex(f.index), raw); err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not %w", f.name, raw, err))
		}
	}
	return errors.Join(errs...)
}

// setting is a field read from the variable name.
type setting struct {
	name  string
	index []int
	tag   reflect.StructTag
	typ   reflect.Type
}

// settings yields the settings of struct type t, depth first in field
// order.
func settings(t reflect.Type) func(yield func(setting) bool) {
	return func(yield func(setting) bool) {
		walk(t, nil, yield)
	}
}

func walk(t reflect.Type, index []int, yield func(setting) bool) bool {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		at := append(append([]int(nil), index...), i)
		name, ok := f.Tag.Lookup("env")
		switch {
		case ok:
			if !yield(setting{name: name, index: at, tag: f.Tag, typ: f.Type}) {
				return false
			}
		case f.Type.Kind() == reflect.Struct:
			if !walk(f.Type, at, yield) {
				return false
			}
		}
	}
	return true
}

// set stores raw in v; the error completes "VAR: "raw" is not ...".
func set(v reflect.Value, raw string) error {
	switch {
	case v.Type() == durationType:
		d, err := time.ParseDuration(raw)
		if err != nil {
			return errors.New("a duration (such as 90s, 15m or 24h)")
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.String:
		v.SetString(raw)
	case v.Kind() == reflect.Int:
		n, err := strconv.Atoi(raw)
		if err != nil {
			return errors.New("an integer")
		}
		v.SetInt(int64(n))
	case v.Kind() == reflect.Float64:
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return errors.New("a number")
		}
		v.SetFloat(f)
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		var list []string
		for _, item := range strings.Split(raw, ",") {
			if item = strings.TrimSpace(item); item != "" {
				list = append(list, item)
			}
		}
		v.Set(reflect.ValueOf(list))
	default:
		// A programming error, caught by any test that parses the struct.
		return fmt.Errorf("a supported setting: type %s cannot be read", v.Type())
	}
	return nil
}
