#include "bench_sessions.h"

#include <cstdio>

#include <boost/json/parse.hpp>
#include <openssl/crypto.h>

#include "bench_load.h"
#include "medledger/core/error.h"

namespace medledger::app::bench {

using core::ErrorCode;

ErrorCode code_named(std::string_view name) {
  return core::error_code_named(name).value_or(ErrorCode::kInternal);
}

core::Result<void> check_answer(const core::Result<net::HttpsResponse>& answer,
                                std::string_view what) {
  if (!answer) {
    return core::make_error(answer.error().code, std::string(what) + ": " + answer.error().message);
  }
  const std::string code = error_code_of(answer);
  if (code.empty()) return core::success();
  return core::make_error(code_named(code), std::string(what) + ": HTTP " +
                                                std::to_string(answer->status) + " " + code + ": " +
                                                answer->body);
}

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x",
                    static_cast<unsigned>(static_cast<unsigned char>(c)));
      out += escaped;
    } else {
      out += c;
    }
  }
  out += '"';
}

std::string_view as_text(const core::SecretBytes& secret) {
  return {reinterpret_cast<const char*>(secret.data()), secret.size()};
}

namespace {
// POST /v1/persons/{id}/sessions for "hospital/person" (the route takes the person id).
std::string sessions_path(const std::string& principal) {
  return "/v1/persons/" + principal.substr(principal.rfind('/') + 1) + "/sessions";
}
}  // namespace

core::Result<core::SecretBytes> open_person_session(net::HttpsClient& client,
                                                    const std::string& principal,
                                                    const core::SecretBytes& pin,
                                                    std::uint32_t signatures, int ttl_seconds) {
  std::string body = R"({"pin":)";
  append_json_string(body, as_text(pin));
  body += R"(,"ttl_seconds":)" + std::to_string(ttl_seconds) + R"(,"signatures":)" +
          std::to_string(signatures) + "}";
  auto reply = client.request("POST", sessions_path(principal), std::move(body));
  MEDLEDGER_TRY(check_answer(reply, "opening a session for " + principal));
  boost::json::error_code ec;
  auto value = boost::json::parse(reply->body, ec);
  OPENSSL_cleanse(reply->body.data(), reply->body.size());
  const boost::json::value* token =
      (!ec && value.is_object()) ? value.as_object().if_contains("session") : nullptr;
  if (token == nullptr || !token->is_string()) {
    return core::make_error(ErrorCode::kInvalidArgument,
                            "opening a session for " + principal + ": no session in the answer");
  }
  auto& text = value.as_object()["session"].as_string();
  core::SecretBytes out(
      core::ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  OPENSSL_cleanse(text.data(), text.size());
  return out;
}

PersonSessions::PersonSessions(net::HttpsClient opener, std::string principal,
                               core::SecretBytes pin, std::size_t window, std::uint32_t signatures,
                               int ttl_seconds)
    : opener_client_(std::move(opener)),
      principal_(std::move(principal)),
      pin_(std::move(pin)),
      window_(window),
      signatures_(signatures),
      ttl_seconds_(ttl_seconds),
      per_window_(static_cast<std::uint64_t>(window) * signatures) {}

core::Result<std::unique_ptr<PersonSessions>> PersonSessions::open(
    net::HttpsClient client, net::HttpsClient opener, std::string principal, core::SecretBytes pin,
    std::size_t window, std::uint32_t signatures, int ttl_seconds) {
  std::unique_ptr<PersonSessions> sessions(new PersonSessions(
      std::move(opener), std::move(principal), std::move(pin), window, signatures, ttl_seconds));
  for (std::size_t i = 0; i < window; ++i) {
    auto token =
        open_person_session(client, sessions->principal_, sessions->pin_, signatures, ttl_seconds);
    MEDLEDGER_TRY(token);
    sessions->tokens_.push_back(std::move(*token));
  }
  sessions->opener_ = std::thread([raw = sessions.get()] { raw->run_opener(); });
  return sessions;
}

PersonSessions::~PersonSessions() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (opener_.joinable()) opener_.join();
  // Sessions opened ahead (and the window in use, partly spent) would hold their
  // budgets until they expire: close them. Earlier windows are spent (gone).
  const std::size_t in_use = static_cast<std::size_t>((uses_ / per_window_) * window_);
  const std::string close_path = sessions_path(principal_) + "/close";
  for (std::size_t i = in_use; i < tokens_.size(); ++i) {
    std::string body = R"({"session":)";
    append_json_string(body, as_text(tokens_[i]));
    body += '}';
    (void)opener_client_.request("POST", close_path,
                                 std::move(body));  // a refusal changes nothing here
  }
}

void PersonSessions::append_next(std::string& out) {
  std::unique_lock lock(mutex_);
  const std::uint64_t use = uses_++;
  // Uses [w * per_window_, (w + 1) * per_window_) rotate over window w's sessions,
  // so each of them is used exactly `signatures_` times.
  const std::uint64_t index = (use / per_window_) * window_ + use % window_;
  if (use % per_window_ == 0)
    changed_.notify_all();  // a new window: the opener opens the one after
  changed_.wait(lock, [&] { return index < tokens_.size() || error_ || stopping_; });
  const auto& token = index < tokens_.size() ? tokens_[index] : tokens_.back();
  append_json_string(out, as_text(token));
}

void PersonSessions::run_opener() {
  std::unique_lock lock(mutex_);
  // Keeps the window after the one in use opened (read again at every wake-up).
  auto wanted = [&] { return static_cast<std::size_t>((uses_ / per_window_ + 2) * window_); };
  while (true) {
    changed_.wait(lock, [&] { return stopping_ || error_ || tokens_.size() < wanted(); });
    if (stopping_ || error_) return;
    lock.unlock();
    auto token = open_person_session(opener_client_, principal_, pin_, signatures_, ttl_seconds_);
    lock.lock();
    if (!token) {
      error_ = token.error();
    } else {
      tokens_.push_back(std::move(*token));
    }
    changed_.notify_all();
  }
}

std::optional<core::Error> PersonSessions::opener_error() const {
  std::lock_guard lock(mutex_);
  return error_;
}

}  // namespace medledger::app::bench
