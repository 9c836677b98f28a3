package nostr

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestFilterMatches(t *testing.T) {
	e := signedEvent(t) // kind 23194, created_at 1700000000, tags p=testPubHex, e=abab…
	id, author := e.ID.String(), e.PubKey.String()
	other := strings.Repeat("0", 64)
	ts := func(v int64) *int64 { return &v }
	tests := []struct {
		name string
		f    Filter
		want bool
	}{
		{"empty filter", Filter{}, true},
		{"id", Filter{IDs: []string{other, id}}, true},
		{"other id", Filter{IDs: []string{other}}, false},
		{"author", Filter{Authors: []string{author}}, true},
		{"other author", Filter{Authors: []string{testPubHex}}, false},
		{"kind", Filter{Kinds: []int{1, 23194}}, true},
		{"other kind", Filter{Kinds: []int{23195}}, false},
		{"#p", Filter{Tags: map[string][]string{"p": {testPubHex}}}, true},
		{"#p other", Filter{Tags: map[string][]string{"p": {other}}}, false},
		{"#e", Filter{Tags: map[string][]string{"e": {other, strings.Repeat("ab", 32)}}}, true},
		{"#p and #e", Filter{Tags: map[string][]string{"p": {testPubHex}, "e": {strings.Repeat("ab", 32)}}}, true},
		{"#p and wrong #e", Filter{Tags: map[string][]string{"p": {testPubHex}, "e": {other}}}, false},
		{"absent tag", Filter{Tags: map[string][]string{"d": {"x"}}}, false},
		{"since equal", Filter{Since: ts(1700000000)}, true},
		{"since after", Filter{Since: ts(1700000001)}, false},
		{"until equal", Filter{Until: ts(1700000000)}, true},
		{"until before", Filter{Until: ts(1699999999)}, false},
		{"window", Filter{Since: ts(1), Until: ts(1800000000)}, true},
		{"all conditions", Filter{IDs: []string{id}, Authors: []string{author}, Kinds: []int{23194},
			Tags: map[string][]string{"p": {testPubHex}}, Since: ts(0), Until: ts(1700000000), Limit: 1}, true},
		{"all but one kind", Filter{IDs: []string{id}, Authors: []string{author}, Kinds: []int{1},
			Tags: map[string][]string{"p": {testPubHex}}}, false},
		{"uppercase id never matches", Filter{IDs: []string{strings.ToUpper(id)}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.f.Matches(&e); got != tc.want {
				t.Errorf("Matches = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFilterJSON(t *testing.T) {
	since, until := int64(0), int64(1700000000)
	tests := []struct {
		name string
		f    Filter
		want string
	}{
		{"empty", Filter{}, `{}`},
		{"full", Filter{
			IDs: []string{"aa"}, Authors: []string{testPubHex}, Kinds: []int{23194, 23195},
			Tags: map[string][]string{"p": {testPubHex}, "e": {"<&>"}}, Since: &since, Until: &until, Limit: 10,
		}, `{"#e":["<&>"],"#p":["` + testPubHex + `"],"authors":["` + testPubHex + `"],"ids":["aa"],"kinds":[23194,23195],"limit":10,"since":0,"until":1700000000}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Called directly: json.Marshal would re-escape <, > and & in the output.
			data, err := tc.f.MarshalJSON()
			if err != nil || string(data) != tc.want {
				t.Fatalf("Marshal = %s, %v\nwant %s", data, err, tc.want)
			}
			var back Filter
			if err := json.Unmarshal(data, &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, tc.f) {
				t.Errorf("round trip: %+v, want %+v", back, tc.f)
			}
			viaStdlib, err := json.Marshal(tc.f)
			var back2 Filter
			if err != nil || json.Unmarshal(viaStdlib, &back2) != nil || !reflect.DeepEqual(back2, tc.f) {
				t.Errorf("json.Marshal round trip: %s, %v", viaStdlib, err)
			}
		})
	}
	// Unknown keys and multi-letter tag keys are ignored, as relays do.
	var f Filter
	if err := json.Unmarshal([]byte(`{"kinds":[1],"search":"x","#pp":["a"]}`), &f); err != nil || len(f.Tags) != 0 || f.Kinds[0] != 1 {
		t.Errorf("unknown keys: %+v, %v", f, err)
	}
	for _, in := range []string{`[]`, `{"kinds":["1"]}`, `{"ids":"a"}`, `{"since":"1"}`, `{"limit":-1}`, `{"#p":[1]}`} {
		var f Filter
		if err := f.UnmarshalJSON([]byte(in)); !errors.Is(err, ErrInvalidFilter) {
			t.Errorf("Unmarshal(%s) = %v, want ErrInvalidFilter", in, err)
		}
	}
}
