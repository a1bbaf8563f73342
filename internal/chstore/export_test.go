package chstore

// OnBlock makes s call f before it sends each INSERT block, with the table and the block's rows.
func OnBlock(s *Store, f func(table string, rows int)) { s.onBlock = f }

// InsertChunkRows is the number of rows an INSERT appends to its columns at a time.
const InsertChunkRows = insertChunkRows
