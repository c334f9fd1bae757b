package sqlstore

// sqLite is the embedded default's dialect (modernc.org/sqlite, pure Go).
type sqLite struct{}

func (sqLite) Name() string         { return "sqlite" }
func (sqLite) InsertIgnore() string { return "INSERT OR IGNORE" }
