package chstore

// OnBlock makes s call f before it sends each INSERT block, with the table and the block's rows.
func OnBlock(s *Store, f func(table string, rows int)) { s.onBlock = f }

// InsertChunkRows is the number of rows an INSERT appends to its columns at a time.
const InsertChunkRows = insertChunkRows

// MethodScoreCounts returns the counts of a score in the order of their elements of the column
// counts of method_scores.
func MethodScoreCounts() []string {
	var out []string
	for _, f := range methodScores.fields {
		if f.count > 0 {
			out = append(out, f.Name)
		}
	}
	return out
}
