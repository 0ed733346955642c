package acache

import (
	"bytes"
	"io"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/acachecontrol/acache/internal/httpsyntax"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rangeSize is the representation length of the examples in
// RFC 9110 Section 14.1.2.
const rangeSize = 10000

// rangeBody is a stored body of 26 distinct bytes.
const rangeBody = "abcdefghijklmnopqrstuvwxyz"

// rangeStoredHeader is the header of a stored 200 for rangeBody.
func rangeStoredHeader() http.Header {
	return http.Header{
		"Content-Type":     {"text/plain"},
		"Content-Length":   {"26"},
		"Content-Encoding": {"identity"},
		"Etag":             {`"v1"`},
		"Last-Modified":    {"Sat, 29 Oct 1994 19:43:31 GMT"},
		"Cache-Control":    {"max-age=60"},
		"Vary":             {"Accept"},
	}
}

func TestRangeResponse(t *testing.T) {
	req, err := http.NewRequest(http.MethodGet, "http://example.com/a", nil)
	require.NoError(t, err)

	t.Run("15.3.7 single part", func(t *testing.T) {
		for _, c := range []struct {
			r    httpsyntax.ByteRange
			want string
		}{
			{httpsyntax.ByteRange{First: 2, Last: 5}, "cdef"},
			{httpsyntax.ByteRange{First: 0, Last: 0}, "a"},
			{httpsyntax.ByteRange{First: 25, Last: 25}, "z"},
			{httpsyntax.ByteRange{First: 0, Last: 25}, rangeBody},
			{httpsyntax.ByteRange{First: 20, Last: 25}, "uvwxyz"},
		} {
			body := []byte(rangeBody)
			header := rangeStoredHeader()
			header["Content-Length"] = []string{"26", "26"}
			resp := rangeResponse(req, header, body, c.r, httpsyntax.RangeSingle)
			require.NotNil(t, resp)
			assert.Equal(t, "206 Partial Content", resp.Status)
			assert.Equal(t, http.StatusPartialContent, resp.StatusCode)
			assert.Equal(t, "HTTP/1.1", resp.Proto)
			assert.Equal(t, 1, resp.ProtoMajor)
			assert.Equal(t, 1, resp.ProtoMinor)
			assert.Same(t, req, resp.Request)
			assert.Equal(t, reflect.ValueOf(header).Pointer(), reflect.ValueOf(resp.Header).Pointer(), "header is modified in place")
			want := "bytes " + strconv.FormatInt(c.r.First, 10) + "-" + strconv.FormatInt(c.r.Last, 10) + "/26"
			assert.Equal(t, []string{want}, resp.Header.Values("Content-Range"))
			assert.Equal(t, []string{strconv.Itoa(len(c.want))}, resp.Header.Values("Content-Length"))
			assert.Equal(t, int64(len(c.want)), resp.ContentLength)
			for _, k := range []string{"Content-Type", "Content-Encoding", "Etag", "Last-Modified", "Cache-Control", "Vary"} {
				assert.Equal(t, rangeStoredHeader()[k], resp.Header[k], k)
			}
			require.NotNil(t, resp.Body)
			got, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, c.want, string(got))
			require.NoError(t, resp.Body.Close())
			require.NoError(t, resp.Body.Close())
			assert.Equal(t, rangeBody, string(body), "the stored body is unchanged")
		}
	})

	t.Run("15.3.7 part is read from the stored bytes", func(t *testing.T) {
		body := []byte(rangeBody)
		resp := rangeResponse(req, http.Header{}, body, httpsyntax.ByteRange{First: 1, Last: 3}, httpsyntax.RangeSingle)
		require.NotNil(t, resp)
		got := make([]byte, 1)
		_, err := io.ReadFull(resp.Body, got)
		require.NoError(t, err)
		assert.Equal(t, "b", string(got))
		// Not a copy: a later change to the stored array shows in the rest.
		body[2] = 'C'
		rest, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Equal(t, "Cd", string(rest))
	})

	t.Run("15.5.17 unsatisfiable", func(t *testing.T) {
		for _, stored := range []string{rangeBody, ""} {
			body := []byte(stored)
			header := rangeStoredHeader()
			resp := rangeResponse(req, header, body, httpsyntax.ByteRange{}, httpsyntax.RangeUnsatisfiable)
			require.NotNil(t, resp)
			assert.Equal(t, "416 Requested Range Not Satisfiable", resp.Status)
			assert.Equal(t, http.StatusRequestedRangeNotSatisfiable, resp.StatusCode)
			assert.Equal(t, "HTTP/1.1", resp.Proto)
			assert.Same(t, req, resp.Request)
			assert.Equal(t, []string{"bytes */" + strconv.Itoa(len(stored))}, resp.Header.Values("Content-Range"))
			assert.Equal(t, []string{"0"}, resp.Header.Values("Content-Length"))
			assert.Equal(t, int64(0), resp.ContentLength)
			assert.Equal(t, `"v1"`, resp.Header.Get("Etag"))
			require.NotNil(t, resp.Body)
			assert.Equal(t, http.NoBody, resp.Body)
			got, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Empty(t, got)
			require.NoError(t, resp.Body.Close())
			assert.Equal(t, stored, string(body))
		}
	})

	t.Run("a range outside the body gives 416", func(t *testing.T) {
		for _, r := range []httpsyntax.ByteRange{{First: -1, Last: 3}, {First: 5, Last: 4}, {First: 0, Last: 26}, {First: 26, Last: 26}, {First: math.MaxInt64, Last: math.MaxInt64}, {First: 0, Last: math.MaxInt64}} {
			resp := rangeResponse(req, rangeStoredHeader(), []byte(rangeBody), r, httpsyntax.RangeSingle)
			require.NotNil(t, resp, "%v", r)
			assert.Equal(t, http.StatusRequestedRangeNotSatisfiable, resp.StatusCode, "%v", r)
			assert.Equal(t, "bytes */26", resp.Header.Get("Content-Range"))
		}
	})

	t.Run("other outcomes give nil", func(t *testing.T) {
		for _, o := range []httpsyntax.RangeOutcome{httpsyntax.RangeIgnore, httpsyntax.RangeForward, httpsyntax.RangeOutcome(99)} {
			assert.Nil(t, rangeResponse(req, rangeStoredHeader(), []byte(rangeBody), httpsyntax.ByteRange{First: 0, Last: 1}, o), "%v", o)
		}
	})

	t.Run("nil header", func(t *testing.T) {
		resp := rangeResponse(req, nil, []byte(rangeBody), httpsyntax.ByteRange{First: 0, Last: 1}, httpsyntax.RangeSingle)
		require.NotNil(t, resp)
		assert.Equal(t, "bytes 0-1/26", resp.Header.Get("Content-Range"))
		assert.Equal(t, "2", resp.Header.Get("Content-Length"))
	})

	t.Run("with parseRange", func(t *testing.T) {
		body := []byte(rangeBody)
		for _, c := range []struct{ field, want string }{
			{"bytes=-5", "vwxyz"},
			{"bytes=24-", "yz"},
			{"bytes=3-5", "def"},
			{"bytes=100-,0-1", "ab"},
		} {
			r, o := httpsyntax.ParseRange([]string{c.field}, int64(len(body)))
			require.Equal(t, httpsyntax.RangeSingle, o, c.field)
			resp := rangeResponse(req, rangeStoredHeader(), body, r, o)
			got, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, c.want, string(got), c.field)
		}
	})
}

// FuzzRangeResponse checks the response a stored 1000-byte body gives a
// Range the parser read: the bytes it names for one range, the length of
// the representation for an unsatisfiable one, nothing otherwise.
func FuzzRangeResponse(f *testing.F) {
	f.Add("bytes=0-9")
	f.Add("bytes=-5")
	f.Add("bytes=990-")
	f.Add("bytes=2000-")
	f.Add("bytes=0-1,5-6")
	f.Add("items=0-1")
	body := bytes.Repeat([]byte("0123456789"), 100)
	f.Fuzz(func(t *testing.T, in string) {
		r1000, o1000 := httpsyntax.ParseRange(strings.Split(in, "\n"), 1000)
		header := http.Header{"Content-Length": {"1000"}}
		resp := rangeResponse(nil, header, body, r1000, o1000)
		switch o1000 {
		case httpsyntax.RangeSingle:
			require.NotNil(t, resp)
			got, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.Equal(t, body[r1000.First:r1000.Last+1], got)
			require.Equal(t, int64(len(got)), resp.ContentLength)
			require.Equal(t, strconv.Itoa(len(got)), resp.Header.Get("Content-Length"))
		case httpsyntax.RangeUnsatisfiable:
			require.NotNil(t, resp)
			require.Equal(t, "bytes */1000", resp.Header.Get("Content-Range"))
		default:
			require.Nil(t, resp)
		}
	})
}
