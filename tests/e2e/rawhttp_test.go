package e2e

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rawRequest is an HTTP/1.1 request written to the socket byte for byte:
// net/http would clean the target (dot segments, escapes) and canonicalise
// header names, which is exactly what a hostile client does not do.
type rawRequest struct {
	method string
	target string   // the request-target, sent as is
	header []string // "Name: value" lines, sent as is and in order
	body   string
	// announce, when above len(body), is the Content-Length sent with only
	// body following: the server must answer from the announced length.
	announce int
	// chunked, when positive, sends that many bytes of JSON whitespace as
	// a chunked body instead of body.
	chunked int
}

// bytes is the request exactly as it goes on the wire.
func (r rawRequest) bytes() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n", r.method, r.target)
	for _, h := range r.header {
		b.WriteString(h + "\r\n")
	}
	switch {
	case r.chunked > 0:
		b.WriteString("Transfer-Encoding: chunked\r\n")
	case r.announce > len(r.body):
		b.WriteString("Content-Length: " + strconv.Itoa(r.announce) + "\r\n")
	case r.body != "":
		b.WriteString("Content-Length: " + strconv.Itoa(len(r.body)) + "\r\n")
	}
	b.WriteString("Connection: close\r\n\r\n")
	if r.chunked == 0 {
		b.WriteString(r.body)
	}
	return b.Bytes()
}

// sendRaw writes r to addr and reads the answer. A server may answer (and
// close) before a large body is sent in full: the body is written
// alongside the read, and a failed write only ends the writing.
func sendRaw(t *testing.T, addr string, r rawRequest) response {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(30*time.Second)))
	head := r.bytes()
	n, err := conn.Write(head)
	require.NoError(t, err)
	require.Equal(t, len(head), n, "the whole request head was written")
	if r.chunked > 0 {
		go writeChunks(conn, r.chunked)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: r.method})
	require.NoError(t, err, "%s %q: no HTTP answer", r.method, r.target)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if addr == gatewayAddr {
		require.NoError(t, checkRawAnswer(ctx(t), r.method, r.target, r.header, resp.StatusCode, resp.Header, body))
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// writeChunks sends size bytes as 32 KiB chunks and the last chunk. Its
// errors are those of a server that stopped reading: the answer says why.
func writeChunks(w io.Writer, size int) {
	chunk := bytes.Repeat([]byte(" "), 32<<10)
	for sent := 0; sent < size; sent += len(chunk) {
		if _, err := fmt.Fprintf(w, "%x\r\n%s\r\n", len(chunk), chunk); err != nil {
			return
		}
	}
	_, _ = io.WriteString(w, "0\r\n\r\n")
}

// testRawClient proves the raw client sends the request line and headers
// byte for byte, dot segments, escapes and odd header names included: the
// hostile table is only as good as the bytes it really sends.
func testRawClient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	received := make(chan []byte, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			received <- nil
			return
		}
		defer conn.Close()
		var got bytes.Buffer
		rd := bufio.NewReader(conn)
		for {
			line, err := rd.ReadString('\n')
			got.WriteString(line)
			if err != nil || line == "\r\n" {
				break
			}
		}
		body := make([]byte, 2)
		_, _ = io.ReadFull(rd, body)
		got.Write(body)
		received <- got.Bytes()
		_, _ = io.WriteString(conn, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
	}()
	r := rawRequest{
		method: "POST",
		target: "/api/v1/orders/../%2E%2e/.%2e//%252f%5c..\\x/.",
		header: []string{"dapr-app-id: orders", "X-HTTP-Method-Override: DELETE"},
		body:   "{}",
	}
	resp := sendRaw(t, ln.Addr().String(), r)
	assert.Equal(t, http.StatusNoContent, resp.Status)
	got := <-received
	assert.Equal(t, string(r.bytes()), string(got))
	assert.True(t, strings.HasPrefix(string(got), "POST /api/v1/orders/../%2E%2e/.%2e//%252f%5c..\\x/. HTTP/1.1\r\n"), "%q", got)
	assert.Contains(t, string(got), "\r\ndapr-app-id: orders\r\n", "header names keep their case")
}

// grpcCall makes one unary gRPC call over cleartext HTTP/2 with msg, an
// encoded protobuf message, and returns the gRPC status code and message.
func grpcCall(t *testing.T, port int, method string, msg []byte, metadata ...string) (code int, message string) {
	t.Helper()
	protocols := new(http.Protocols)
	protocols.SetUnencryptedHTTP2(true)
	hc := &http.Client{Transport: &http.Transport{Protocols: protocols}, Timeout: 15 * time.Second}
	defer hc.CloseIdleConnections()
	frame := make([]byte, 5, 5+len(msg))
	binary.BigEndian.PutUint32(frame[1:], uint32(len(msg)))
	frame = append(frame, msg...)
	req, err := http.NewRequestWithContext(ctx(t), http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/%s", port, method), bytes.NewReader(frame))
	require.NoError(t, err)
	// gRPC clients announce no length; daprd would pass one on to the app
	// as a header of the invoked HTTP request.
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("TE", "trailers")
	for i := 0; i+1 < len(metadata); i += 2 {
		req.Header.Set(metadata[i], metadata[i+1])
	}
	resp, err := hc.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "gRPC answers in HTTP 200")
	status := resp.Trailer.Get("grpc-status")
	message = resp.Trailer.Get("grpc-message")
	if status == "" { // a "trailers-only" answer carries them in the head
		status, message = resp.Header.Get("grpc-status"), resp.Header.Get("grpc-message")
	}
	code, err = strconv.Atoi(status)
	require.NoError(t, err, "grpc-status %q", status)
	return code, message
}

// pbString and pbMessage encode one length-delimited protobuf field;
// pbVarint one varint field. Enough for the few Dapr requests sent here.
func pbString(field int, s string) []byte { return pbBytes(field, []byte(s)) }

func pbMessage(field int, parts ...[]byte) []byte { return pbBytes(field, bytes.Join(parts, nil)) }

func pbBytes(field int, b []byte) []byte {
	out := binary.AppendUvarint(nil, uint64(field)<<3|2)
	out = binary.AppendUvarint(out, uint64(len(b)))
	return append(out, b...)
}

func pbVarint(field int, v uint64) []byte {
	return binary.AppendUvarint(binary.AppendUvarint(nil, uint64(field)<<3), v)
}
