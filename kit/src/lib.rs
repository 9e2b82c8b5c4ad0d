//! The migration kit: a tool for any Postgres that several services share. It depends on
//! neither pair of the demonstrator nor on its lab bench.
