#include "gateway/app/gateway_server.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "common/config/value_parsers.h"
#include "common/kafka/properties.h"
#include "gateway/app/conformance.h"
#include "gateway/app/local_app.h"
#include "gateway/net/worker.h"

namespace wsgw::app {

GatewayServer::GatewayServer(GatewayConfig cfg) : cfg_(std::move(cfg)) {}

GatewayServer::~GatewayServer() {
  // The cluster's service thread posts to the workers: stop it before they go.
  if (cluster_) cluster_->stop();
  for (auto& w : ctx_.workers) w->io().stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

bool GatewayServer::start(std::string& error) {
  metrics::register_process_metrics(registry_);
  metrics_ = std::make_unique<session::GatewayMetrics>(registry_);
  uint16_t worker_id = static_cast<uint16_t>(cfg_.worker_id);
  if (!cfg_.kafka_brokers.empty() && !start_cluster(worker_id, error)) return false;
  ids_ = std::make_unique<util::Snowflake>(worker_id);
  if (cfg_.auth == "jwt") jwt_ = std::make_unique<auth::JwtVerifier>(cfg_.jwt_secret);
  if (cluster_) {
    // app_ already holds the cluster node
  } else if (cfg_.conformance) {
    app_ = std::make_unique<ConformanceApp>();
    ctx_.raw_handler = &make_echo_handler;
    ctx_.http.engineio_path = "/engine.io/";
  } else {
    app_ = std::make_unique<LocalApp>(cfg_.namespaces, registry_);
  }

  auto& sc = ctx_.session_cfg;
  sc.heartbeat.max_interval_ms = static_cast<uint32_t>(cfg_.ping_interval_ms);
  sc.heartbeat.timeout_ms = static_cast<uint32_t>(cfg_.ping_timeout_ms);
  sc.heartbeat.min_interval_ms = static_cast<uint32_t>(cfg_.heartbeat_min_interval_ms);
  sc.heartbeat.step_ms = static_cast<uint32_t>(std::min<uint64_t>(cfg_.heartbeat_step_ms, UINT32_MAX));
  sc.heartbeat.healthy_pongs_to_grow =
      static_cast<uint8_t>(std::min<uint32_t>(cfg_.heartbeat_healthy_pongs, 255));
  sc.heartbeat = sc.heartbeat.normalized();
  sc.max_payload = cfg_.max_payload;
  sc.max_queue_bytes = cfg_.max_queue_bytes;
  sc.upgrade_timeout_ms = static_cast<uint32_t>(cfg_.upgrade_timeout_ms);
  ctx_.sio.app = app_.get();
  ctx_.sio.jwt = jwt_.get();
  ctx_.sio.ids = ids_.get();
  ctx_.sio.connect_timeout_ms = static_cast<uint32_t>(cfg_.connect_timeout_ms);
  ctx_.sio.max_events_per_second = cfg_.max_client_events;
  ctx_.http.socketio_path = cfg_.path;
  ctx_.http.cors_origins = cfg_.cors_origins;
  ctx_.http.serve_admin = cfg_.metrics_listen.empty();
  ctx_.http.request_timeout_ms = static_cast<uint32_t>(cfg_.http_timeout_ms);
  ctx_.http.max_sessions = cfg_.max_connections;
  ctx_.http.socket_send_buffer = static_cast<int>(cfg_.socket_send_buffer);
  ctx_.registry = &registry_;
  ctx_.metrics = metrics_.get();
  ctx_.ids = ids_.get();

  if (!cfg_.tls_listen.empty()) {
    tls_ = net::make_server_tls_context(cfg_.tls_cert, cfg_.tls_key, error);
    if (!tls_) return false;
    ctx_.tls = tls_.get();
  }

  uint32_t n = cfg_.threads ? cfg_.threads : std::max(1u, std::thread::hardware_concurrency());
  for (uint32_t i = 0; i < n; ++i) ctx_.workers.push_back(std::make_unique<net::Worker>(ctx_, i));

  auto open_on_all = [&](const std::string& addr, bool tls, net::ListenerKind kind,
                         std::vector<std::shared_ptr<net::Listener>>& out, bool every_worker) {
    config::HostPort hp;
    net::Listener::tcp::endpoint ep;
    if (!config::parse_host_port(addr, hp, error) || !net::resolve_endpoint(hp.host, hp.port, ep, error))
      return false;
    for (auto& w : ctx_.workers) {
      auto l = std::make_shared<net::Listener>(*w, ep, tls, kind);
      if (!l->open(error)) return false;
      // With port 0 the first listener picks the port; the others must share it.
      if (ep.port() == 0) ep.port(l->local_endpoint().port());
      out.push_back(l);
      if (!every_worker) break;
    }
    return true;
  };
  if (!cfg_.listen.empty() &&
      !open_on_all(cfg_.listen, false, net::ListenerKind::client, client_listeners_, true))
    return false;
  if (!cfg_.tls_listen.empty() &&
      !open_on_all(cfg_.tls_listen, true, net::ListenerKind::client, client_listeners_, true))
    return false;
  if (!cfg_.metrics_listen.empty() &&
      !open_on_all(cfg_.metrics_listen, false, net::ListenerKind::admin, admin_listeners_, false))
    return false;

  if (cluster_) {
    cluster::ClusterNode::Hooks hooks;
    hooks.dispatch = [this](std::shared_ptr<const cluster::DownstreamCommand> c) { dispatch(std::move(c)); };
    hooks.post_to_workers = [this](std::function<void(session::SessionHost&)> fn) {
      auto shared = std::make_shared<std::function<void(session::SessionHost&)>>(std::move(fn));
      for (auto& w : ctx_.workers) boost::asio::post(w->io(), [w = w.get(), shared] { (*shared)(*w); });
    };
    hooks.worker_count = ctx_.workers.size();
    hooks.drain = [this] { request_stop(); };
    if (!cluster_->start(std::move(hooks), error)) return false;
  }
  for (auto& l : client_listeners_) l->start();
  for (auto& l : admin_listeners_) l->start();
  for (auto& w : ctx_.workers) {
    w->start();
    threads_.emplace_back([w = w.get()] {
      auto guard = boost::asio::make_work_guard(w->io());
      w->io().run();
    });
  }
  spdlog::info("ws-gateway up: {} threads, listen={} tls-listen={} metrics={} auth={}{}", n,
               cfg_.listen.empty() ? "-" : cfg_.listen, cfg_.tls_listen.empty() ? "-" : cfg_.tls_listen,
               cfg_.metrics_listen.empty() ? "(client listeners)" : cfg_.metrics_listen, cfg_.auth,
               cfg_.conformance ? " conformance" : "");
  return true;
}

net::Listener::tcp::endpoint GatewayServer::plain_endpoint() const {
  return client_listeners_.empty() ? net::Listener::tcp::endpoint{}
                                   : client_listeners_.front()->local_endpoint();
}

void GatewayServer::request_stop() { stop_requested_.store(true); }

bool GatewayServer::start_cluster(uint16_t& worker_id, std::string& error) {
  cluster::ClusterOptions o;
  o.node_name = cfg_.node_name;
  o.kafka_brokers = cfg_.kafka_brokers;
  kafka::parse_properties(cfg_.kafka_options, o.kafka_extra, error);  // validated with the config
  o.downstream_partitions = static_cast<int32_t>(cfg_.downstream_partitions);
  o.create_topics = cfg_.create_topics;
  o.namespaces = cfg_.namespaces;
  o.touch_period_ms = static_cast<uint32_t>(std::clamp<uint64_t>(cfg_.touch_period_ms, 1, UINT32_MAX));
  o.max_downstream_backlog_bytes = cfg_.downstream_backlog;
  if (!redis::parse_url(cfg_.redis, o.redis, error)) {
    error = "--redis: " + error;
    return false;
  }
  auto node = std::make_unique<cluster::ClusterNode>(std::move(o), registry_);
  if (!node->connect(worker_id, error)) return false;
  cluster_ = node.get();
  app_ = std::move(node);
  return true;
}

void GatewayServer::dispatch(std::shared_ptr<const cluster::DownstreamCommand> cmd) {
  // Runs on the cluster's service thread: every worker applies the command to its own sockets.
  for (auto& w : ctx_.workers) {
    boost::asio::post(w->io(), [w = w.get(), cmd, node = cluster_] {
      using Kind = cluster::DownstreamCommand::Kind;
      switch (cmd->kind) {
        case Kind::emit:
          // Observed by the workers that had targets only (an emit to one socket counts once).
          if (w->deliver(cmd->delivery) > 0 && cmd->ts_api_ms > 0) {
            const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
            node->api_to_socket_latency().observe(
                static_cast<double>(std::max<int64_t>(0, now - cmd->ts_api_ms)) / 1000.0);
          }
          break;
        case Kind::join:
          w->for_each_target(cmd->delivery, [&](session::NamespaceSocket& s) {
            if (s.join(cmd->room)) node->joined(s, cmd->room);
          });
          break;
        case Kind::leave:
          w->for_each_target(cmd->delivery, [&](session::NamespaceSocket& s) {
            if (s.leave(cmd->room)) node->left(s, cmd->room);
          });
          break;
        case Kind::kick:
          w->for_each_target(cmd->delivery, [&](session::NamespaceSocket& s) {
            if (cmd->close_connection)
              s.owner().close_connection(cluster::kick_reason(cmd->reason));
            else
              s.owner().disconnect(s, cluster::kick_reason(cmd->reason));
          });
          break;
        case Kind::skip:
          break;
      }
    });
  }
}

int GatewayServer::wait() {
  boost::asio::io_context main_io;
  boost::asio::signal_set signals(main_io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (!ec) {
      spdlog::info("signal {}: draining", sig);
      stop_requested_.store(true);
    }
  });
  // Poll for a stop request (signals or request_stop) on the main thread.
  boost::asio::steady_timer poll(main_io);
  std::function<void()> arm = [&] {
    poll.expires_after(std::chrono::milliseconds(50));
    poll.async_wait([&](const boost::system::error_code& ec) {
      if (ec) return;
      if (stop_requested_.load()) {
        signals.cancel();
        return;
      }
      arm();
    });
  };
  arm();
  main_io.run();
  drain();
  return 0;
}

void GatewayServer::drain() {
  // Readiness goes to 503, listeners close, every session is closed with `shutdown` (1001, a
  // reconnect-able code: stock clients reconnect with their own randomized back-off), and the
  // process exits once they are gone or the grace period ends.
  ctx_.draining.store(true);
  for (auto& l : client_listeners_) l->stop();
  for (auto& w : ctx_.workers) {
    boost::asio::post(w->io(), [w = w.get()] {
      w->for_each_session([](session::EngineSession& s) { s.close(session::Disconnect::shutdown); });
    });
  }
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + std::chrono::milliseconds(cfg_.shutdown_grace_ms);
  auto live = [&] {
    size_t n = 0;
    for (auto& w : ctx_.workers) n += w->session_count();
    return n;
  };
  while (live() > 0 && clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  // Let the close frames leave the process.
  auto flush_until = std::min(deadline, clock::now() + std::chrono::milliseconds(300));
  std::this_thread::sleep_until(flush_until);
  const size_t left = live();
  if (left) spdlog::warn("grace period over with {} sessions still open", left);
  for (auto& l : admin_listeners_) l->stop();
  for (auto& w : ctx_.workers) w->io().stop();
  // Disconnect events are out: flush them (never past the grace: Kafka may be dead), release
  // the lease.
  if (cluster_) cluster_->stop(std::max(deadline, clock::now() + std::chrono::milliseconds(100)));
  for (auto& t : threads_) t.join();
  threads_.clear();
  spdlog::info("ws-gateway stopped");
}

}  // namespace wsgw::app
