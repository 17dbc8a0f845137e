package jsonline

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAppendString(t *testing.T) {
	for _, s := range []string{
		"",                         // empty
		"GET /tokens/{id}",         // plain ASCII, copied
		`a "quoted" \ back`,        // quote and backslash
		"line\nbreak\t\x00",        // control characters
		"café ✓",                   // non-ASCII
		"bad \xff\xfe utf-8",       // not UTF-8
		`"},"allow":true,"x":"`,    // an attempt to add a field
		"</script><img src=x>&amp", // HTML-ish
	} {
		b := AppendString([]byte("x"), s)
		require.Equal(t, byte('x'), b[0], "appends")
		var got string
		require.NoError(t, json.Unmarshal(b[1:], &got), "%q", s)
		want, _ := json.Marshal(s)
		var wantS string
		require.NoError(t, json.Unmarshal(want, &wantS))
		require.Equal(t, wantS, got, "%q reads back as encoding/json writes it", s)
	}
}
