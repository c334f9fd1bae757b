package submission

// PostalID is the Postal-compatible integer id and token of one message stream, the ones a
// Postal v1 client is told and later looks the message up by (the HTTP API's). The Acceptor
// records them in the acceptance transaction, so an id exists exactly when its message does.
type PostalID struct {
	MessageID string // the message stream
	ID        int64  // unique across the installation, positive
	Token     string
}
