package httpsyntax

import "net/http"

// hdr returns a header with the fields kv gives, name then value, each value
// on its own field line.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}
