package sqlstore

// Dialect is what differs between the two databases. Its two implementations live in
// mariadb.go and sqlite.go; nothing else in the package branches on the database.
type Dialect interface {
	// Name is "mariadb" or "sqlite" (logs, status, `migrate` output).
	Name() string
	// InsertIgnore is the statement prefix of an INSERT that skips rows whose key exists.
	InsertIgnore() string
}
