//go:build !race

package monitor

// importScale divides the corpus sizes of the import tests (see
// import_race_test.go).
const importScale = 1
