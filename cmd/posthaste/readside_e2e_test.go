package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/posthaste/posthaste/adapters/smtpout/smtpsinktest"
)

// viewMessage is what the read-side tests read of `messages --json` and `message show --json`.
type viewMessage struct {
	ID           string `json:"id"`
	Status       string `json:"status"`
	RcptTo       string `json:"rcpt_to"`
	Attempts     int    `json:"attempts"`
	BounceReason string `json:"bounce_reason"`
	BounceClass  string `json:"bounce_class"`
	LastReply    string `json:"last_reply"`
	Source       string `json:"source"`
	Timeline     []struct {
		Type string `json:"type"`
	} `json:"timeline"`
	AttemptLog []struct {
		ReplyCode  int    `json:"reply_code"`
		MXHost     string `json:"mx_host"`
		Result     string `json:"result"`
		Transcript string `json:"transcript"`
	} `json:"attempt_log"`
}

func listMessages(t *testing.T, env map[string]string, args ...string) ([]viewMessage, string) {
	t.Helper()
	var out struct {
		Messages []viewMessage `json:"messages"`
		Next     *string       `json:"next_cursor"`
	}
	raw := mustRun(t, env, append([]string{"messages", "--json"}, args...)...)
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		t.Fatalf("messages --json: %v\n%s", err, raw)
	}
	next := ""
	if out.Next != nil {
		next = *out.Next
	}
	return out.Messages, next
}

// normalizers make --json outputs comparable across runs and backends.
var (
	reUUID     = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	reTime     = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)
	reDuration = regexp.MustCompile(`"duration_ms":\d+`)
	reLatency  = regexp.MustCompile(`"latency_ms":\{[^}]*\}`)
	reAddrPort = regexp.MustCompile(`127\.0\.0\.1:\d+`)
	reMsgIDHdr = regexp.MustCompile(`[0-9a-z.]+@posthaste\.test`)
	reTransc   = regexp.MustCompile(`"transcript":"[^"\\]*(\\.[^"\\]*)*"`)
	reSize     = regexp.MustCompile(`"size":\d+`)
	reBodyID   = regexp.MustCompile(`"(body_id|signed_body_id|transcript_id|submission_id|correlation_id|causation_id|cursor)":"[^"]*"`)
	reCursor   = regexp.MustCompile(`"next_cursor":"[^"]*"`)
	reCLIActor = regexp.MustCompile(`"actor":"cli:[^"]*"`)
	reSelector = regexp.MustCompile(`"selector":"[^"]*"`)
)

func normalizeJSON(s string) string {
	s = reTransc.ReplaceAllStringFunc(s, func(m string) string {
		if m == `"transcript":""` {
			return m
		}
		return `"transcript":"<transcript>"`
	})
	s = reBodyID.ReplaceAllString(s, `"$1":"<id>"`)
	s = reCursor.ReplaceAllString(s, `"next_cursor":"<cursor>"`)
	s = reUUID.ReplaceAllString(s, "<uuid>")
	s = reTime.ReplaceAllString(s, "<time>")
	s = reDuration.ReplaceAllString(s, `"duration_ms":0`)
	s = reLatency.ReplaceAllString(s, `"latency_ms":{}`)
	s = reAddrPort.ReplaceAllString(s, "127.0.0.1:PORT")
	s = reMsgIDHdr.ReplaceAllString(s, "<msgid>@posthaste.test")
	s = reSize.ReplaceAllString(s, `"size":0`)
	s = reCLIActor.ReplaceAllString(s, `"actor":"cli:<user>"`)
	s = reSelector.ReplaceAllString(s, `"selector":"<selector>"`)
	return s
}

// golden compares got (normalized) with testdata/name (checkGolden).
func golden(t *testing.T, name, got string) {
	t.Helper()
	checkGolden(t, filepath.Join("testdata", name), normalizeJSON(got))
}

// TestReadSideAfterMixedWorkload drives a mixed workload through the binary on both backends —
// delivered, deferred then delivered, bounced, held then released — then checks that the message
// view, timelines and stats agree with what was sent, that an operator can answer "what happened
// to the mail to nobody@remote.test that day, and why" from the CLI alone, that the HTTP event
// feed is gap-free, and that `replay --all` reproduces every projection exactly.
func TestReadSideAfterMixedWorkload(t *testing.T) {
	for name, mkEnv := range lifecycleEnvs(t) {
		t.Run(name, func(t *testing.T) {
			sink := smtpsinktest.New(t, smtpsinktest.Options{
				Rcpt: func(to string, try int) *smtp.SMTPError {
					switch {
					case strings.HasPrefix(to, "later@") && try == 1:
						return smtpsinktest.Reply(451, "4.7.1", "Greylisted, please try again")
					case strings.HasPrefix(to, "nobody@"):
						return smtpsinktest.Reply(550, "5.1.1", "No such user here")
					}
					return nil
				},
			})
			env := mkEnv(t)
			env["POSTHASTE_SMTP_RELAYS"] = "smtp://" + sink.Addr
			env["POSTHASTE_RETRY_INITIAL"] = "1s"
			env["POSTHASTE_HOSTNAME"] = "posthaste.test"
			env["POSTHASTE_ADMIN_TOKEN"] = "feed-admin-token"
			mustRun(t, env, "org", "create", "acme")
			mustRun(t, env, "server", "create", "acme/live")
			mustRun(t, env, "server", "create", "acme/dev", "--mode", "development")
			mustRun(t, env, "domain", "create", "live.example", "--server", "acme/live", "--skip-verification")
			mustRun(t, env, "domain", "create", "dev.example", "--server", "acme/dev", "--skip-verification")
			ids := map[string]string{}
			for _, rcpt := range []string{"ok@remote.test", "later@remote.test", "nobody@remote.test"} {
				var r sendTestJSON
				json.Unmarshal([]byte(mustRun(t, env, "send-test", rcpt, "--from", "app@live.example", "--server", "acme/live", "--json")), &r)
				ids[rcpt] = r.MessageID
			}
			var held sendTestJSON
			json.Unmarshal([]byte(mustRun(t, env, "send-test", "dev@remote.test", "--from", "app@dev.example", "--server", "acme/dev", "--json")), &held)
			// Before serve runs nothing is projected: message show reads the log.
			var pre viewMessage
			json.Unmarshal([]byte(mustRun(t, env, "message", "show", held.MessageID, "--json")), &pre)
			if pre.Status != "held" || pre.Source != "log" {
				t.Errorf("unprojected held message: status %q source %q, want held from the log", pre.Status, pre.Source)
			}
			srv := startServe(t, env)
			// Wait for the view: every live message final, the dev one held.
			want := map[string]string{"ok@remote.test": "delivered", "later@remote.test": "delivered", "nobody@remote.test": "bounced"}
			deadline := time.Now().Add(60 * time.Second)
			for {
				got := map[string]string{}
				ms, _ := listMessages(t, env, "--server", "acme/live")
				for _, m := range ms {
					got[m.RcptTo] = m.Status
				}
				dev, _ := listMessages(t, env, "--server", "acme/dev", "--status", "held")
				if fmt.Sprint(got) == fmt.Sprint(want) && len(dev) == 1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("view: live %v (want %v), dev held %d", got, want, len(dev))
				}
				time.Sleep(300 * time.Millisecond)
			}
			mustRun(t, env, "message", "release", held.MessageID)
			for {
				dev, _ := listMessages(t, env, "--server", "acme/dev", "--query", "status:delivered to:dev@remote.test")
				if len(dev) == 1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("released message not delivered in the view")
				}
				time.Sleep(300 * time.Millisecond)
			}

			// The operator's question, from the CLI alone.
			day := time.Now().UTC().Format("2006-01-02")
			nextDay := time.Now().UTC().Add(24 * time.Hour).Format("2006-01-02")
			found, _ := listMessages(t, env, "--server", "acme/live", "--query", "to:nobody@remote.test after:"+day+" before:"+nextDay)
			if len(found) != 1 || found[0].Status != "bounced" || found[0].BounceReason != "userunknown" || found[0].BounceClass != "hard" {
				t.Fatalf("messages to:nobody@remote.test that day: %+v", found)
			}
			if none, _ := listMessages(t, env, "--server", "acme/live", "--query", "to:nobody@remote.test before:"+day); len(none) != 0 {
				t.Errorf("before the day: %+v", none)
			}
			showRaw := mustRun(t, env, "message", "show", found[0].ID, "--json")
			var show viewMessage
			json.Unmarshal([]byte(showRaw), &show)
			if len(show.AttemptLog) != 1 || show.AttemptLog[0].ReplyCode != 550 || !strings.Contains(show.AttemptLog[0].Transcript, "550") ||
				!strings.Contains(show.LastReply, "No such user here") {
				t.Errorf("message show of the bounce: %s", showRaw)
			}
			if types := timelineTypes(show); types != "queued signed attempted bounced" && types != "queued attempted bounced" {
				t.Errorf("bounce timeline %q", types)
			}
			text := mustRun(t, env, "message", "show", found[0].ID)
			for _, w := range []string{"bounced", "userunknown", "550", "No such user here", "| "} {
				if !strings.Contains(text, w) {
					t.Errorf("message show text lacks %q:\n%s", w, text)
				}
			}
			if !regexp.MustCompile(`(?m)^attempts +1$`).MatchString(text) {
				t.Errorf("message show text does not count one attempt:\n%s", text)
			}
			golden(t, "readside_message_show_bounced.golden", showRaw)
			var later viewMessage
			json.Unmarshal([]byte(mustRun(t, env, "message", "show", ids["later@remote.test"], "--json")), &later)
			if later.Attempts != 2 || len(later.AttemptLog) != 2 || later.AttemptLog[0].ReplyCode != 451 || later.AttemptLog[1].ReplyCode != 250 {
				t.Errorf("deferred-then-delivered attempts: %+v", later)
			}
			// Point in time: the greylisted message as of its deferral was deferred.
			var timeline struct {
				Timeline []struct {
					Type       string    `json:"type"`
					OccurredAt time.Time `json:"occurred_at"`
				} `json:"timeline"`
			}
			json.Unmarshal([]byte(mustRun(t, env, "message", "show", ids["later@remote.test"], "--json")), &timeline)
			for _, e := range timeline.Timeline {
				if e.Type == "message.deferred" {
					var asOf viewMessage
					json.Unmarshal([]byte(mustRun(t, env, "message", "show", ids["later@remote.test"], "--json", "--as-of", e.OccurredAt.Format(time.RFC3339Nano))), &asOf)
					if asOf.Status != "deferred" || asOf.Attempts != 1 || asOf.Source != "log" {
						t.Errorf("as of the deferral: %+v", asOf)
					}
				}
			}

			// Stats agree with what was sent.
			statsRaw := mustRun(t, env, "stats", "--server", "acme/live", "--json", "--tz", "Europe/Berlin")
			var rep struct {
				Total struct {
					Queued, Delivered, Deferred, Bounced, Held, Expired int64
					BouncedHard                                         int64            `json:"bounced_hard"`
					Reasons                                             map[string]int64 `json:"bounce_reasons"`
				} `json:"total"`
			}
			json.Unmarshal([]byte(statsRaw), &rep)
			tot := rep.Total
			if tot.Queued != 3 || tot.Delivered != 2 || tot.Deferred != 1 || tot.Bounced != 1 || tot.BouncedHard != 1 || tot.Reasons["userunknown"] != 1 {
				t.Errorf("stats: %s", statsRaw)
			}
			var dev struct {
				Total struct{ Queued, Held, Delivered int64 } `json:"total"`
			}
			json.Unmarshal([]byte(mustRun(t, env, "stats", "--server", "acme/dev", "--json")), &dev)
			if dev.Total.Queued != 1 || dev.Total.Held != 1 || dev.Total.Delivered != 1 {
				t.Errorf("dev stats: %+v", dev.Total)
			}
			var asOf struct {
				Statuses map[string]int64 `json:"statuses"`
			}
			json.Unmarshal([]byte(mustRun(t, env, "stats", "--server", "acme/live", "--json", "--as-of", "-0s")), &asOf)
			if asOf.Statuses["delivered"] != 2 || asOf.Statuses["bounced"] != 1 {
				t.Errorf("stats --as-of now: %+v", asOf)
			}
			json.Unmarshal([]byte(mustRun(t, env, "stats", "--server", "acme/live", "--json", "--as-of", "2020-01-01")), &asOf)
			if asOf.Statuses["delivered"] != 0 || asOf.Statuses["queued"] != 0 {
				t.Errorf("stats --as-of 2020: %+v", asOf)
			}

			// Audit trail by recipient and by actor.
			if got := typesOf(readEvents(t, env, "--recipient", "NOBODY@remote.test")); got != "queued signed attempted bounced" && got != "queued attempted bounced" {
				t.Errorf("events --recipient nobody@: %q", got)
			}
			rel := readEvents(t, env, "--actor", "cli", "--type", "message.released")
			if len(rel) != 1 || rel[0].StreamID != held.MessageID {
				t.Errorf("events --actor cli --type message.released: %+v", rel)
			}
			if n := len(readEvents(t, env, "--actor", "cli:nobody-such")); n != 0 {
				t.Errorf("events by an unknown actor id: %d", n)
			}

			// HTTP feed: pages of 3 by position, gap-free and equal to the CLI listing.
			all := readEvents(t, env)
			var fed []int64
			after := int64(0)
			for {
				code, body := httpGetBearer(fmt.Sprintf("%s/api/v2/events?after=%d&limit=3", srv.http, after), "feed-admin-token")
				if code != 200 {
					t.Fatalf("GET /api/v2/events: %d %s", code, body)
				}
				n := 0
				sc := bufio.NewScanner(strings.NewReader(body))
				sc.Buffer(make([]byte, 1<<20), 1<<24)
				for sc.Scan() {
					var e eventLine
					if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
						t.Fatal(err)
					}
					fed = append(fed, e.Position)
					after = e.Position
					n++
				}
				if n == 0 {
					break
				}
			}
			for i, p := range fed {
				if p != int64(i+1) {
					t.Fatalf("feed positions %v: not 1..n", fed)
				}
			}
			if len(fed) < len(all) {
				t.Errorf("feed gave %d events, events --json %d", len(fed), len(all))
			}
			if code, _ := httpGetBearer(srv.http+"/api/v2/events?after=-1", "feed-admin-token"); code != 400 {
				t.Errorf("bad after: %d", code)
			}
			// The feed spans every server: no token, or a wrong one, gets 401.
			if code, _ := httpGet(srv.http + "/api/v2/events"); code != 401 {
				t.Errorf("feed without a token: %d, want 401", code)
			}
			if code, _ := httpGetBearer(srv.http+"/api/v2/events", "wrong"); code != 401 {
				t.Errorf("feed with a wrong token: %d, want 401", code)
			}

			// The projections show up in status and /metrics.
			status := mustRun(t, env, "status")
			_, metrics := httpGet(srv.http + "/metrics")
			for _, p := range []string{"message_view", "message_stats"} {
				if !strings.Contains(status, p) || !strings.Contains(metrics, p) {
					t.Errorf("projection %s missing from status or /metrics", p)
				}
			}
			if code := srv.stop(t); code != 0 {
				t.Errorf("serve exit %d", code)
			}

			// Replay equals live.
			before := mustRun(t, env, "projections", "checksum")
			mustRun(t, env, "replay", "--all")
			after2 := mustRun(t, env, "projections", "checksum")
			if before != after2 {
				t.Errorf("checksums differ after replay --all:\nbefore:\n%s\nafter:\n%s", before, after2)
			}
			msgsRaw := mustRun(t, env, "messages", "--server", "acme/live", "--json", "--oldest", "--limit", "2")
			golden(t, "readside_messages.golden", msgsRaw)
			golden(t, "readside_stats.golden", mustRun(t, env, "stats", "--server", "acme/live", "--json", "--from", "2020-01-01", "--to", "2100-01-01", "--by", "day"))
			_, cur := listMessages(t, env, "--server", "acme/live", "--oldest", "--limit", "2")
			rest, next := listMessages(t, env, "--server", "acme/live", "--oldest", "--limit", "2", "--cursor", cur)
			if len(rest) != 1 || next != "" || rest[0].RcptTo != "nobody@remote.test" {
				t.Errorf("second page: %+v next %q", rest, next)
			}
		})
	}
}

func timelineTypes(m viewMessage) string {
	var ts []string
	for _, e := range m.Timeline {
		ts = append(ts, strings.TrimPrefix(e.Type, "message."))
	}
	return strings.Join(ts, " ")
}

// httpGetBearer is httpGet with an Authorization: Bearer header.
func httpGetBearer(u, token string) (int, string) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
