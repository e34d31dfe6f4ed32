//go:build race

package monitor

// importScale divides the corpus sizes of the import tests: the race
// detector slows the pure-Go SQLite about twentyfold.
const importScale = 3
