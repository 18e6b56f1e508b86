// wsgw-dev-kafka: librdkafka's mock cluster in a process of its own, for the local demo stack
// (deploy/run-local.sh) so that a newcomer needs no JVM. It speaks the Kafka protocol on a
// loopback port, creates the wsgw.* topics, prints its bootstrap address (and writes it to
// --address-file), and runs until SIGINT/SIGTERM. It keeps everything in memory: NOT for
// production, and the tests use a real Kafka broker (tests/infra/kafka.sh).
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>

#include "common/cluster/contract.h"
#include "common/kafka/mock_cluster.h"

namespace {

void usage() {
  std::fputs(
      "usage: wsgw-dev-kafka [--partitions N] [--address-file PATH]\n"
      "  --partitions N       partitions of wsgw.downstream and wsgw.acks (default 64; the same\n"
      "                       value as the gateways' and ws-api's --downstream-partitions)\n"
      "  --address-file PATH  also write the bootstrap address there\n",
      stderr);
}

}  // namespace

int main(int argc, char** argv) {
  int partitions = wsgw::cluster::kDefaultDownstreamPartitions;
  std::string address_file;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--partitions" && i + 1 < argc) {
      partitions = std::atoi(argv[++i]);
    } else if (arg == "--address-file" && i + 1 < argc) {
      address_file = argv[++i];
    } else {
      usage();
      return arg == "--help" || arg == "-h" ? 0 : 2;
    }
  }
  if (partitions < 1 || partitions > 10000) {
    std::fputs("wsgw-dev-kafka: --partitions must be between 1 and 10000\n", stderr);
    return 2;
  }

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);  // before librdkafka starts its threads

  std::string error;
  auto cluster = wsgw::kafka::MockCluster::create(1, error);
  if (!cluster) {
    std::fprintf(stderr, "wsgw-dev-kafka: %s\n", error.c_str());
    return 1;
  }
  using namespace wsgw::cluster;
  const std::pair<std::string_view, int> topics[] = {{kUpstreamTopic, 8},
                                                     {kDownstreamTopic, partitions},
                                                     {kBroadcastTopic, 1},
                                                     {kAcksTopic, partitions}};
  for (const auto& [topic, count] : topics) {
    if (cluster->create_topic(topic, count) != 0) {
      std::fprintf(stderr, "wsgw-dev-kafka: cannot create %.*s\n", static_cast<int>(topic.size()),
                   topic.data());
      return 1;
    }
  }
  const std::string& address = cluster->bootstrap_servers();
  if (!address_file.empty()) {
    std::ofstream(address_file) << address << "\n";
  }
  std::printf("%s\n", address.c_str());
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  return 0;
}
