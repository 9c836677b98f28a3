package sqlstore

import "testing"

func TestNumbered(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"SELECT 1", "SELECT 1"},
		{"?", "$1"},
		{"id = ?", "id = $1"},
		{"VALUES (?, ?, ?)", "VALUES ($1, $2, $3)"},
		{"a = ? AND b = ?", "a = $1 AND b = $2"},
		{"LIMIT ? OFFSET ?", "LIMIT $1 OFFSET $2"},
		{"??????????", "$1$2$3$4$5$6$7$8$9$10"},
	} {
		if got := numbered(tc.in); got != tc.want {
			t.Errorf("numbered(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestBind(t *testing.T) {
	for _, d := range []struct {
		d    Dialect
		want string
	}{
		{Dialect{Name: "sqlite"}, "id = ? AND x = ?"},
		{Dialect{Name: "postgres", NumberedParams: true}, "id = $1 AND x = $2"},
	} {
		s := New(&d.d, nil)
		for range 2 { // the second time from the cache
			if got := s.bind("id = ? AND x = ?"); got != d.want {
				t.Errorf("%s: bind = %q, want %q", d.d.Name, got, d.want)
			}
		}
	}
}
