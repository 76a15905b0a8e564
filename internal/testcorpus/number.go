package testcorpus

import "math/big"

// sameNumber compares two JSON numbers as exact decimals, independently of
// the schema package's own comparison.
func sameNumber(a, b string) bool {
	x, ok1 := new(big.Rat).SetString(a)
	y, ok2 := new(big.Rat).SetString(b)
	return ok1 && ok2 && x.Cmp(y) == 0
}
