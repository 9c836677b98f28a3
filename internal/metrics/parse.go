package metrics

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// ErrSyntax is returned by ParseText for a line that is not a valid sample.
var ErrSyntax = errors.New("metrics: bad text exposition line")

// Samples maps a series (as written by Key) to its value.
type Samples map[string]float64

// Key is the canonical name of a series: name{l1="v1",l2="v2"} with the labels sorted by
// name, or just name without labels. kv are label name/value pairs.
func Key(name string, kv ...string) string {
	if len(kv) < 2 {
		return name
	}
	type pair struct{ k, v string }
	ps := make([]pair, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		ps = append(ps, pair{kv[i], kv[i+1]})
	}
	slices.SortFunc(ps, func(a, b pair) int { return strings.Compare(a.k, b.k) })
	flat := make([]string, 0, len(kv))
	for _, p := range ps {
		flat = append(flat, p.k, p.v)
	}
	return name + labels(flat...)
}

// Get returns the value of a series, 0 if it is absent (as Prometheus treats a counter
// that was never incremented).
func (s Samples) Get(name string, kv ...string) float64 { return s[Key(name, kv...)] }

// ParseText reads the text exposition format: comments and blank lines are skipped, every
// other line must be `name[{labels}] value [timestamp]`. It is what the tests use to read
// /metrics, and it accepts what Prometheus writes too.
func ParseText(r io.Reader) (Samples, error) {
	out := Samples{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		key, v, err := parseLine(line)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrSyntax, n, err)
		}
		out[key] = v
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func parseLine(line string) (string, float64, error) {
	i := strings.IndexAny(line, "{ \t")
	if i <= 0 {
		return "", 0, errors.New("no value")
	}
	name := line[:i]
	if !validName(name) {
		return "", 0, fmt.Errorf("bad metric name %q", name)
	}
	rest := line[i:]
	var kv []string
	if rest[0] == '{' {
		var err error
		kv, rest, err = parseLabels(rest[1:])
		if err != nil {
			return "", 0, err
		}
	}
	fields := strings.Fields(rest)
	if len(fields) < 1 || len(fields) > 2 {
		return "", 0, errors.New("want a value and an optional timestamp")
	}
	v, err := parseValue(fields[0])
	if err != nil {
		return "", 0, err
	}
	if len(fields) == 2 {
		if _, err := strconv.ParseInt(fields[1], 10, 64); err != nil {
			return "", 0, fmt.Errorf("bad timestamp %q", fields[1])
		}
	}
	return Key(name, kv...), v, nil
}

// parseLabels reads `k="v",...}` and returns the pairs and what follows the brace.
func parseLabels(s string) ([]string, string, error) {
	var kv []string
	for {
		s = strings.TrimLeft(s, " \t")
		if strings.HasPrefix(s, "}") {
			return kv, s[1:], nil
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return nil, "", errors.New("bad label")
		}
		k := strings.TrimSpace(s[:eq])
		if !validName(k) || strings.Contains(k, ":") {
			return nil, "", fmt.Errorf("bad label name %q", k)
		}
		s = strings.TrimLeft(s[eq+1:], " \t")
		if !strings.HasPrefix(s, `"`) {
			return nil, "", errors.New("label value not quoted")
		}
		var b strings.Builder
		j := 1
		for ; j < len(s) && s[j] != '"'; j++ {
			if s[j] != '\\' {
				b.WriteByte(s[j])
				continue
			}
			j++
			if j == len(s) {
				break
			}
			switch s[j] {
			case '\\':
				b.WriteByte('\\')
			case '"':
				b.WriteByte('"')
			case 'n':
				b.WriteByte('\n')
			default:
				return nil, "", fmt.Errorf("bad escape \\%c", s[j])
			}
		}
		if j >= len(s) {
			return nil, "", errors.New("unterminated label value")
		}
		kv = append(kv, k, b.String())
		s = strings.TrimLeft(s[j+1:], " \t")
		if strings.HasPrefix(s, ",") {
			s = s[1:]
		} else if !strings.HasPrefix(s, "}") {
			return nil, "", errors.New("want , or } after a label")
		}
	}
}

func parseValue(s string) (float64, error) {
	switch s {
	case "+Inf":
		return math.Inf(1), nil
	case "-Inf":
		return math.Inf(-1), nil
	case "NaN":
		return math.NaN(), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("bad value %q", s)
	}
	return v, nil
}

// validName reports whether s matches [a-zA-Z_:][a-zA-Z0-9_:]*.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
