//go:build orrery_planted_bug

package engine

// plantedLostReplayFill plants a bug on purpose, compiled in only with
// -tags orrery_planted_bug: the gateway drops an execution that the
// exchange replays after a reconnect, before the gateway has swept the
// connection. Only a fill that comes while the order session is cut, or
// whose report is on the wire when the cut comes, meets it: a run without
// faults never shows it, and a live run with them shows it by chance,
// differently each time. The simulation's seed sweep finds it, and any
// failing seed replays it exactly (see the README, "Simulation"). It
// exists to show that the sweep works:
//
//	go test -tags orrery_planted_bug -run TestSimSeedSweep ./examples/trading/internal/app
const plantedLostReplayFill = true
