package sqlstore

// mariaDB is the production dialect (go-sql-driver/mysql).
type mariaDB struct{}

func (mariaDB) Name() string         { return "mariadb" }
func (mariaDB) InsertIgnore() string { return "INSERT IGNORE" }
