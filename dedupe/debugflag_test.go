package dedupe_test

import "flag"

var modeFlag = flag.String("mode", "realtime", "")

var accFlag = flag.Bool("account", false, "")

var seedFlag = flag.Uint64("seed", 1, "")
var streamsFlag = flag.Int("streams", 0, "")
var truthFlag = flag.Int("truth", -1, "")
