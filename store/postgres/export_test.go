package postgres

// MigrateTo is migrateTo for the tests of the upgrade path.
var MigrateTo = migrateTo
