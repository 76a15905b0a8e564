package ingest

import (
	"testing"
	"time"
)

// TestAdmissionShedsStandingQueue holds the only slot: refusals first wait
// the whole admission wait (a burst might drain), then, once an interval has
// shown a standing queue, come early; a free slot is taken at once and,
// after a quiet interval, the full wait is back.
func TestAdmissionShedsStandingQueue(t *testing.T) {
	a := newAdmission(1, 40*time.Millisecond)
	if ok, _ := a.acquire(); !ok {
		t.Fatal("the free slot was refused")
	}
	waited := 0
	for i := 0; ; i++ {
		ok, early := a.acquire()
		if ok {
			t.Fatal("a second slot was granted")
		}
		if early {
			break
		}
		if waited++; i == 5 {
			t.Fatalf("%d refusals, none early: the standing queue went unnoticed", waited)
		}
	}
	if waited == 0 {
		t.Error("the first refusal was early: a burst got no chance to drain")
	}
	a.release()
	if ok, _ := a.acquire(); !ok {
		t.Fatal("the released slot was refused")
	}
	a.release()
	time.Sleep(3 * a.wait) // an interval with no deliveries at all
	if ok, _ := a.acquire(); !ok {
		t.Fatal("the free slot was refused after the quiet interval")
	}
	if a.standing() {
		t.Error("still counted as a standing queue after a quiet interval")
	}
}
