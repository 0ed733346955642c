package acache

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/acachecontrol/acache/internal/httpsyntax"
)

// rangeResponse returns the response to a Range request for a stored,
// complete body, for the outcomes of [parseRange] that the cache answers
// itself:
//
//   - rangeSingle: 206 Partial Content ([RFC 9110 Section 15.3.7]) with
//     Content-Range "bytes first-last/size" ([RFC 9110 Section 14.4]),
//     Content-Length (field and resp.ContentLength) the part's length, and a
//     body that reads body[first:last+1] without copying it and whose Close
//     does nothing. If r does not lie within body (a caller's mistake), the
//     answer is the 416 below instead.
//   - rangeUnsatisfiable: 416 Range Not Satisfiable
//     ([RFC 9110 Section 15.5.17]) with Content-Range "bytes */size",
//     Content-Length 0 and body [http.NoBody].
//
// For any other outcome it returns nil.
//
// header is a fresh map the caller owns, already cloned from the stored
// response; it is modified in place and becomes resp.Header. Only
// Content-Length and Content-Range change: the fields a 206 must repeat
// (Cache-Control, ETag, Expires, Vary, ...; [RFC 9110 Section 15.3.7]) stay,
// and so does Content-Encoding, because a byte range is a range of the
// representation as encoded. size is len(body). body is never written to.
// Proto is "HTTP/1.1", which the caller may overwrite.
//
// [RFC 9110 Section 14.4]: https://www.rfc-editor.org/rfc/rfc9110#section-14.4
// [RFC 9110 Section 15.3.7]: https://www.rfc-editor.org/rfc/rfc9110#section-15.3.7
// [RFC 9110 Section 15.5.17]: https://www.rfc-editor.org/rfc/rfc9110#section-15.5.17
func rangeResponse(req *http.Request, header http.Header, body []byte, r httpsyntax.ByteRange, outcome httpsyntax.RangeOutcome) *http.Response {
	if header == nil {
		header = make(http.Header)
	}
	size := int64(len(body))
	switch outcome {
	case httpsyntax.RangeSingle:
		if r.First < 0 || r.First > r.Last || r.Last >= size {
			break // not a range of this body: answer 416 below
		}
		part := body[r.First : r.Last+1 : r.Last+1]
		n := int64(len(part))
		header.Del("Content-Length")
		header.Set("Content-Length", strconv.FormatInt(n, 10))
		header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", r.First, r.Last, size))
		return newResponse(req, http.StatusPartialContent, statusLine(http.StatusPartialContent), header, newStoredBody(part), n)
	case httpsyntax.RangeUnsatisfiable:
		// answered below
	default:
		return nil
	}
	header.Del("Content-Length")
	header.Set("Content-Length", "0")
	header.Set("Content-Range", fmt.Sprintf("bytes */%d", size))
	return newResponse(req, http.StatusRequestedRangeNotSatisfiable, statusLine(http.StatusRequestedRangeNotSatisfiable), header, http.NoBody, 0)
}
