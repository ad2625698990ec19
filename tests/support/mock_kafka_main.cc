// klaxon-mock-kafka: librdkafka's mock cluster as a standalone Kafka broker for tests (it
// speaks the real protocol: kcat and klaxond talk to it as to Kafka). Prints the bootstrap
// address on the first line of stdout and serves until SIGTERM/SIGINT.
//   klaxon-mock-kafka [--brokers N] [--topic NAME --partitions P]...
#include <librdkafka/rdkafka.h>
// rdkafka_mock.h needs rdkafka.h first.
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {
volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }
}  // namespace

int main(int argc, char** argv) {
  int brokers = 1;
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    std::fprintf(stderr, "rd_kafka_new: %s\n", err);
    return 1;
  }
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--brokers") brokers = std::atoi(argv[i + 1]);
  }
  rd_kafka_mock_cluster_t* mc = rd_kafka_mock_cluster_new(rk, brokers);
  if (!mc) {
    std::fprintf(stderr, "cannot create the mock cluster\n");
    return 1;
  }
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--topic") {
      const int partitions =
          (i + 3 < argc && std::string(argv[i + 2]) == "--partitions") ? std::atoi(argv[i + 3]) : 1;
      rd_kafka_mock_topic_create(mc, argv[i + 1], partitions, 1);
    }
  }
  std::printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
  std::fflush(stdout);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  while (!g_stop) usleep(50 * 1000);
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
