// Daemon: wires klaxond together and owns its threads.
//
//   I/O thread (the caller of run()): syslog sources, the HTTP server, signals, timers
//   parse workers (ParseStage), the group-commit writer (GroupCommitWriter)
//
// Start-up opens the store, then starts writer, workers and listeners, then tells systemd
// READY=1. SIGTERM/SIGINT: stop accepting, hand every complete frame already read to the
// pipeline, let workers and writer drain to disk, exit 0. SIGHUP: reload the config file; a
// bad file keeps the running config and logs why.
#pragma once

#include "daemon/config.h"

#include <memory>
#include <string>

namespace klaxon {

// Runs until SIGTERM/SIGINT; returns the process exit code. config_path is empty when
// running on the embedded default (SIGHUP then has nothing to reload).
int run_daemon(Config config, const std::string& config_path);

}  // namespace klaxon
