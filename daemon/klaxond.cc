// klaxond: the klaxon daemon. See README.md for the two commands and daemon/README.md.
#include "daemon/config.h"
#include "daemon/daemon.h"

#include <boost/program_options.hpp>
#include <malloc.h>

#include <iostream>

#ifndef KLAXON_VERSION
#define KLAXON_VERSION "0.0.0"
#endif

namespace po = boost::program_options;

int main(int argc, char** argv) {
  po::options_description desc(
      "klaxond — turns alerts from syslog into tracked, tamper-evident records\n\n"
      "Usage: klaxond [--config FILE]\n"
      "       klaxond --check-config FILE\n\nOptions");
  desc.add_options()("help,h", "show this help and exit")("version", "print the version and exit")(
      "config,c", po::value<std::string>(), "YAML configuration file (default: the embedded one)")(
      "check-config", po::value<std::string>(), "validate FILE and exit: 0 when valid, 2 when not")(
      "print-default-config", "print the embedded default configuration and exit")(
      "data-dir", po::value<std::string>(), "override data_dir from the configuration");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "klaxond: " << e.what() << "\n" << desc << "\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  if (vm.count("version")) {
    std::cout << "klaxond " << KLAXON_VERSION << "\n";
    return 0;
  }
  if (vm.count("print-default-config")) {
    std::cout << klaxon::default_config_yaml();
    return 0;
  }
  if (vm.count("check-config")) {
    const std::string path = vm["check-config"].as<std::string>();
    auto cfg = klaxon::load_config_file(path);
    if (!cfg) {
      std::cerr << "klaxond: invalid configuration: " << cfg.error().message << "\n";
      return 2;
    }
    std::cout << path << ": configuration is valid\n";
    return 0;
  }
  // Batches are a few hundred KiB: glibc would mmap and unmap each one (a page fault per
  // 4 KiB, measured at 13% of CPU under load). Keep them in the heap and keep freed memory
  // for reuse; the queues bound how much of it there is.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  std::string path;
  klaxon::Result<klaxon::Config> cfg =
      klaxon::parse_config(klaxon::default_config_yaml(), "<embedded default>");
  if (vm.count("config")) {
    path = vm["config"].as<std::string>();
    cfg = klaxon::load_config_file(path);
  }
  if (!cfg) {
    std::cerr << "klaxond: invalid configuration: " << cfg.error().message << "\n";
    return 2;
  }
  if (vm.count("data-dir")) {
    // Everything that lives under data_dir moves with it (the self-signed TLS certificate).
    const std::string old_tls = cfg->data_dir + "/tls";
    cfg->data_dir = vm["data-dir"].as<std::string>();
    for (auto& t : cfg->tcp) {
      if (t.tls_options.self_signed_dir == old_tls)
        t.tls_options.self_signed_dir = cfg->data_dir + "/tls";
    }
  }
  return klaxon::run_daemon(std::move(*cfg), path);
}
