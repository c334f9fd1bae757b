package mariadb

// The outbox's hot queries, for the plan checks of outbox_test.go.
const (
	UnstampedQuery = unstampedQuery
	PendingQuery   = pendingQuery
)
