package server

import "testing"

func TestRepeatsAKey(t *testing.T) {
	for body, want := range map[string]bool{
		`{"a":1,"b":2}`:                     false,
		`{"a":1,"a":2}`:                     true,
		`{"a":{"b":1},"b":2}`:               false,
		`{"a":{"b":1,"b":2}}`:               true,
		`{"a":[{"b":1},{"b":2}],"c":3}`:     false,
		`{"a":[{"b":1,"b":2}]}`:             true,
		`{"a":[1,2,{"c":[]}],"b":{},"a":0}`: true,
		`[{"a":1},{"a":1}]`:                 false,
		`{"a":"b","b":"a"}`:                 false,
		`"a"`:                               false,
	} {
		if got := repeatsAKey([]byte(body)); got != want {
			t.Errorf("repeatsAKey(%s) = %v, want %v", body, got, want)
		}
	}
}
