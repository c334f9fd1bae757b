package delivery

import "strconv"

// TranscriptID is the id of the SMTP transcript of messageID's attempt (1-based), the one its
// message.attempted event carries: "<message id>.<attempt>". Stores key the transcript by it,
// so storing an attempt's transcript again replaces it.
func TranscriptID(messageID string, attempt int) string {
	return messageID + "." + strconv.Itoa(attempt)
}
