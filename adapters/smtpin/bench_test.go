package smtpin_test

import (
	"strings"
	"testing"
)

// BenchmarkSubmitTLS: one authenticated implicit-TLS session submitting ~2 KB messages back
// to back (MAIL, RCPT, DATA pipelined) into the in-memory test acceptor: the cost of the
// protocol edge and the Submit command, without storage. Noisy on the shared 2-core machine.
func BenchmarkSubmitTLS(b *testing.B) {
	env := newEnv(b)
	c := dialRawTLS(b, env.tlsAddr, env.tlsConfig())
	c.login()
	msg := goodMessage + strings.Repeat(strings.Repeat("lorem ipsum ", 6)+"\r\n", 26)
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.send("MAIL FROM:<billing@example.com>\r\nRCPT TO:<ann@dest.test>\r\nDATA\r\n")
		for j := 0; j < 3; j++ {
			c.reply()
		}
		c.send(msg + ".\r\n")
		if got := c.reply(); !strings.HasPrefix(got, "250 2.0.0 Ok: queued as") {
			b.Fatalf("DATA %q", got)
		}
	}
}
