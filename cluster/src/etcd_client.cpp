// The etcd v3 JSON gateway client (etcd_client.h).
#include "medledger/cluster/etcd_client.h"

#include <limits>

#include <openssl/evp.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "medledger/core/error.h"
#include "medledger/net/https_client.h"

namespace medledger::cluster {
namespace {

namespace json = boost::json;
using core::ErrorCode;
using core::make_error;
using core::Result;

core::Error unavailable(const std::string& what) {
  return make_error(ErrorCode::kOrderingUnavailable, "etcd: " + what);
}

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

Result<std::string> unbase64(std::string_view text) {
  if (text.size() % 4 != 0) return unavailable("a base64 field has a bad length");
  std::string out(3 * (text.size() / 4), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return unavailable("a base64 field does not decode");
  std::size_t padding = 0;
  for (std::size_t i = text.size(); i > 0 && text[i - 1] == '='; --i) ++padding;
  // EVP_DecodeBlock counts '=' as data: "====" decodes to 3 bytes with 4 of padding.
  if (padding > 2 || padding > static_cast<std::size_t>(n))
    return unavailable("a base64 field does not decode");
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

/// A 64-bit number the gateway writes as a decimal string (absent: 0).
std::int64_t number(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->as_int64();
  if (!v->is_string()) return 0;
  try {
    return std::stoll(std::string(v->as_string()));
  } catch (const std::exception&) {
    return 0;
  }
}

std::string string_field(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

Result<KeyValue> key_value(const json::value& v) {
  if (!v.is_object()) return unavailable("a key-value is not an object");
  const json::object& o = v.as_object();
  KeyValue kv;
  MEDLEDGER_TRY_ASSIGN(kv.key, unbase64(string_field(o, "key")));
  MEDLEDGER_TRY_ASSIGN(kv.value, unbase64(string_field(o, "value")));
  kv.create_revision = number(o, "create_revision");
  kv.mod_revision = number(o, "mod_revision");
  return kv;
}

Result<std::vector<KeyValue>> key_values(const json::object& o) {
  std::vector<KeyValue> out;
  const json::value* kvs = o.if_contains("kvs");
  if (kvs == nullptr) return out;
  if (!kvs->is_array()) return unavailable("kvs is not an array");
  for (const json::value& v : kvs->as_array()) {
    MEDLEDGER_TRY_ASSIGN(auto kv, key_value(v));
    out.push_back(std::move(kv));
  }
  return out;
}

std::int64_t header_revision(const json::object& o) {
  const json::value* h = o.if_contains("header");
  return h != nullptr && h->is_object() ? number(h->as_object(), "revision") : 0;
}

/// An answer that is not 200: the gateway's {"error","message","code"} as one of our codes.
core::Error gateway_error(int status, const std::string& body) {
  std::string message = body.substr(0, 300);
  json::error_code ec;
  json::value parsed = json::parse(body, ec);
  if (!ec && parsed.is_object()) {
    std::string m = string_field(parsed.as_object(), "message");
    if (m.empty()) m = string_field(parsed.as_object(), "error");
    if (!m.empty()) message = m;
  }
  if (message.find("database space exceeded") != std::string::npos)
    return unavailable(
        "the NOSPACE alarm is raised (database space exceeded): nothing is "
        "written until an operator frees space and disarms it");
  if (status == 400 && message.find("etcdserver") == std::string::npos)
    return make_error(ErrorCode::kInternal, "etcd refused a request as malformed: " + message);
  return unavailable("HTTP " + std::to_string(status) + ": " + message);
}

bool is_transport_failure(ErrorCode code) {
  return code == ErrorCode::kConnectionRefused || code == ErrorCode::kTlsHandshakeFailed ||
         code == ErrorCode::kRequestTimeout || code == ErrorCode::kIoError;
}

}  // namespace

std::string prefix_range_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

struct EtcdClient::Impl {
  EtcdConfig config;
  std::vector<net::HttpsEndpoint> endpoints;
  std::size_t current = 0;
  std::unique_ptr<net::HttpsClient> client;

  net::HttpsClientOptions options() const {
    net::HttpsClientOptions o;
    o.ca_bundle = config.ca_file;
    o.client_certificate = config.client_certificate;
    o.client_key = config.client_key;
    o.connect_timeout = config.dial_timeout;
    o.request_timeout = config.request_timeout;
    return o;
  }

  Result<net::HttpsClient*> connection() {
    if (!client) {
      auto made = net::HttpsClient::connect_to(endpoints[current], options());
      if (!made) return made.error();
      client = std::make_unique<net::HttpsClient>(std::move(*made));
    }
    return client.get();
  }

  void next_endpoint() {
    client.reset();
    current = (current + 1) % endpoints.size();
  }

  /// Runs `call` on the current endpoint, moving on to the next ones on a transport
  /// failure (each endpoint once).
  template <typename Call>
  auto with_failover(const Call& call) -> decltype(call(std::declval<net::HttpsClient&>())) {
    std::string failures;
    for (std::size_t tried = 0; tried < endpoints.size(); ++tried) {
      auto conn = connection();
      if (!conn) return conn.error();
      auto answer = call(**conn);
      if (answer || !is_transport_failure(answer.error().code)) return answer;
      failures += (failures.empty() ? "" : "; ") + endpoints[current].host + ":" +
                  std::to_string(endpoints[current].port) + " " +
                  std::string(core::error_code_name(answer.error().code));
      next_endpoint();
    }
    return unavailable("no endpoint answered (" + failures + ")");
  }

  Result<json::object> post(std::string_view path, const json::object& body) {
    const std::string text = json::serialize(body);
    return with_failover([&](net::HttpsClient& c) -> Result<json::object> {
      auto reply = c.request("POST", path, text);
      if (!reply) return reply.error();
      if (reply->status != 200) return gateway_error(reply->status, reply->body);
      json::error_code ec;
      json::value parsed = json::parse(reply->body, ec);
      if (ec || !parsed.is_object()) return unavailable("an answer is not a JSON object");
      return std::move(parsed.as_object());
    });
  }
};

EtcdClient::EtcdClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EtcdClient::~EtcdClient() = default;

Result<std::unique_ptr<EtcdClient>> EtcdClient::connect(const EtcdConfig& config) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  if (config.endpoints.empty())
    return make_error(ErrorCode::kConfigInvalid, "ordering.endpoints: at least one etcd endpoint");
  for (const std::string& url : config.endpoints) {
    auto endpoint = net::parse_https_url(url);
    if (!endpoint)
      return make_error(ErrorCode::kConfigInvalid,
                        "ordering.endpoints: " + url + ": " + endpoint.error().message);
    impl->endpoints.push_back(*endpoint);
  }
  // Read the TLS files now: a bad file is a configuration error, not an outage later.
  auto probe = net::HttpsClient::connect_to(impl->endpoints.front(), impl->options());
  if (!probe) return probe.error();
  impl->client = std::make_unique<net::HttpsClient>(std::move(*probe));
  return std::unique_ptr<EtcdClient>(new EtcdClient(std::move(impl)));
}

Result<RangeResult> EtcdClient::range(std::string_view key, std::string_view range_end,
                                      std::int64_t limit) {
  json::object body{{"key", base64(key)}};
  if (!range_end.empty()) body["range_end"] = base64(range_end);
  if (limit > 0) body["limit"] = std::to_string(limit);
  MEDLEDGER_TRY_ASSIGN(auto answer, impl_->post("/v3/kv/range", body));
  RangeResult out;
  out.revision = header_revision(answer);
  MEDLEDGER_TRY_ASSIGN(out.kvs, key_values(answer));
  const json::value* more = answer.if_contains("more");
  out.more = more != nullptr && more->is_bool() && more->as_bool();
  return out;
}

Result<TxnResult> EtcdClient::txn(const std::vector<CreateRevisionIs>& compares,
                                  const std::vector<std::pair<std::string, std::string>>& puts,
                                  std::string_view failure_range, std::int64_t lease) {
  json::array compare;
  for (const auto& c : compares)
    compare.push_back(json::object{{"target", "CREATE"},
                                   {"result", "EQUAL"},
                                   {"key", base64(c.key)},
                                   {"create_revision", std::to_string(c.value)}});
  json::array success;
  for (const auto& [key, value] : puts) {
    json::object put{{"key", base64(key)}, {"value", base64(value)}};
    if (lease != 0) put["lease"] = std::to_string(lease);
    success.push_back(json::object{{"request_put", std::move(put)}});
  }
  json::array failure;
  if (!failure_range.empty())
    failure.push_back(
        json::object{{"request_range", json::object{{"key", base64(failure_range)}}}});
  json::object body{{"compare", std::move(compare)},
                    {"success", std::move(success)},
                    {"failure", std::move(failure)}};
  MEDLEDGER_TRY_ASSIGN(auto answer, impl_->post("/v3/kv/txn", body));
  TxnResult out;
  out.revision = header_revision(answer);
  const json::value* succeeded = answer.if_contains("succeeded");
  out.succeeded = succeeded != nullptr && succeeded->is_bool() && succeeded->as_bool();
  const json::value* responses = answer.if_contains("responses");
  if (!out.succeeded && responses != nullptr && responses->is_array()) {
    for (const json::value& r : responses->as_array()) {
      if (!r.is_object()) continue;
      const json::value* range = r.as_object().if_contains("response_range");
      if (range == nullptr || !range->is_object()) continue;
      MEDLEDGER_TRY_ASSIGN(auto kvs, key_values(range->as_object()));
      for (auto& kv : kvs) out.failure_kvs.push_back(std::move(kv));
    }
  }
  return out;
}

Result<std::int64_t> EtcdClient::grant_lease(std::chrono::seconds ttl) {
  json::object body{{"TTL", std::to_string(ttl.count())}};
  MEDLEDGER_TRY_ASSIGN(auto answer, impl_->post("/v3/lease/grant", body));
  const std::int64_t id = number(answer, "ID");
  if (id == 0) return make_error(ErrorCode::kOrderingUnavailable, "etcd granted no lease");
  return id;
}

Result<std::int64_t> EtcdClient::keep_alive(std::int64_t lease) {
  // A stream in gRPC; through the gateway one request gets one answer, then the end.
  json::object body{{"ID", std::to_string(lease)}};
  MEDLEDGER_TRY_ASSIGN(auto answer, impl_->post("/v3/lease/keepalive", body));
  const json::value* result = answer.if_contains("result");
  if (result == nullptr || !result->is_object()) return std::int64_t{0};
  return number(result->as_object(), "TTL");  // absent once the lease has expired
}

Result<void> EtcdClient::revoke_lease(std::int64_t lease) {
  json::object body{{"ID", std::to_string(lease)}};
  MEDLEDGER_TRY(impl_->post("/v3/lease/revoke", body));
  return core::success();
}

Result<std::int64_t> EtcdClient::put(std::string_view key, std::string_view value) {
  json::object body{{"key", base64(key)}, {"value", base64(value)}};
  MEDLEDGER_TRY_ASSIGN(auto answer, impl_->post("/v3/kv/put", body));
  return header_revision(answer);
}

Result<std::int64_t> EtcdClient::delete_range(std::string_view key, std::string_view range_end) {
  json::object body{{"key", base64(key)}, {"range_end", base64(range_end)}};
  MEDLEDGER_TRY_ASSIGN(auto answer, impl_->post("/v3/kv/deleterange", body));
  return number(answer, "deleted");
}

Result<void> EtcdClient::compact(std::int64_t revision) {
  json::object body{{"revision", std::to_string(revision)}};
  auto answer = impl_->post("/v3/kv/compaction", body);
  if (!answer) {
    // Compacting to a revision that is already compacted is not a failure.
    if (answer.error().message.find("compacted") != std::string::npos) return core::success();
    return answer.error();
  }
  return core::success();
}

namespace {

/// Splits the gateway's watch stream into its JSON messages and hands their events on.
class WatchParser {
 public:
  WatchParser(WatchEnd& end, const std::function<bool(const std::vector<WatchEvent>&)>& on_events)
      : end_(end), on_events_(on_events) {}

  /// The next piece of the stream; false: stop reading (an error, a compaction, or the
  /// caller had enough).
  bool feed(std::string_view piece) {
    pending_.append(piece);
    std::size_t newline;
    while ((newline = pending_.find('\n')) != std::string::npos) {
      const std::string line = pending_.substr(0, newline);
      pending_.erase(0, newline + 1);
      if (!line.empty() && !handle(line)) return false;
    }
    // The gateway may end a message without a newline: try the whole buffer.
    if (!pending_.empty() && pending_.back() == '}') {
      json::error_code ec;
      (void)json::parse(pending_, ec);
      if (!ec) {
        const std::string line = std::move(pending_);
        pending_.clear();
        return handle(line);
      }
    }
    return true;
  }

  std::optional<core::Error> failed;

 private:
  bool handle(std::string_view message) {
    json::error_code ec;
    json::value parsed = json::parse(message, ec);
    if (ec || !parsed.is_object()) {
      failed = unavailable("a watch message is not JSON");
      return false;
    }
    const json::object& o = parsed.as_object();
    if (const json::value* e = o.if_contains("error"); e != nullptr) {
      failed = unavailable("watch: " + (e->is_object() ? string_field(e->as_object(), "message")
                                                       : std::string("error")));
      return false;
    }
    const json::value* r = o.if_contains("result");
    if (r == nullptr || !r->is_object()) return true;
    const json::object& result = r->as_object();
    if (std::int64_t compacted = number(result, "compact_revision"); compacted > 0) {
      end_.compacted_to = compacted;
      return false;
    }
    const json::value* events = result.if_contains("events");
    if (events == nullptr || !events->is_array() || events->as_array().empty()) return true;
    std::vector<WatchEvent> batch;
    for (const json::value& ev : events->as_array()) {
      const json::value* kv = ev.is_object() ? ev.as_object().if_contains("kv") : nullptr;
      if (kv == nullptr) continue;
      auto parsed_kv = key_value(*kv);
      if (!parsed_kv) {
        failed = parsed_kv.error();
        return false;
      }
      // The next watch starts after it: no etcd revision is the largest int64.
      if (parsed_kv->mod_revision == std::numeric_limits<std::int64_t>::max()) {
        failed = unavailable("a watch event has no possible revision");
        return false;
      }
      WatchEvent out;
      out.deleted = string_field(ev.as_object(), "type") == "DELETE";
      out.kv = std::move(*parsed_kv);
      end_.next_revision = std::max(end_.next_revision, out.kv.mod_revision + 1);
      batch.push_back(std::move(out));
    }
    return on_events_(batch);
  }

  WatchEnd& end_;
  const std::function<bool(const std::vector<WatchEvent>&)>& on_events_;
  std::string pending_;  // bytes of a message not complete yet
};

}  // namespace

Result<WatchEnd> EtcdClient::watch(
    std::string_view key, std::string_view range_end, std::int64_t start_revision,
    std::chrono::milliseconds idle,
    const std::function<bool(const std::vector<WatchEvent>&)>& on_events) {
  json::object create{{"key", base64(key)},
                      {"range_end", base64(range_end)},
                      {"start_revision", std::to_string(start_revision)}};
  const std::string text = json::serialize(json::object{{"create_request", std::move(create)}});
  WatchEnd end;
  end.next_revision = start_revision;
  WatchParser parser(end, on_events);
  auto streamed = impl_->with_failover([&](net::HttpsClient& c) -> Result<net::HttpsResponse> {
    net::HttpsRequest request;
    request.method = "POST";
    request.target = "/v3/watch";
    request.body = text;
    auto answer =
        c.stream(request, idle, [&](std::string_view piece) { return parser.feed(piece); });
    // Silence for `idle` is how a quiet watch ends (status 0): the caller watches again.
    if (!answer && answer.error().code == ErrorCode::kRequestTimeout) return net::HttpsResponse{};
    return answer;
  });
  if (parser.failed) return *parser.failed;
  if (!streamed) return streamed.error();
  if (streamed->status == 0) return end;
  if (streamed->status != 200) return gateway_error(streamed->status, "");
  return end;
}

}  // namespace medledger::cluster
