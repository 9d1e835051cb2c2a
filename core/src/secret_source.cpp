#include "medledger/core/secret_source.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <openssl/crypto.h>

namespace medledger::core {

namespace {
// A PIN or passphrase longer than this is a mistake (a key file passed as PIN file).
constexpr std::size_t kMaxSecretSize = 1024;

// Reads at most kMaxSecretSize bytes into a stack buffer that is wiped before return,
// so the secret never passes through a growable container.
Result<SecretBytes> read_fd(int fd, const std::string& what, bool stop_at_newline) {
  std::array<std::uint8_t, kMaxSecretSize + 1> buffer{};
  std::size_t size = 0;
  while (size < buffer.size()) {
    ssize_t n = ::read(fd, buffer.data() + size, stop_at_newline ? 1 : buffer.size() - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      OPENSSL_cleanse(buffer.data(), buffer.size());
      return make_error(ErrorCode::kSecretUnavailable,
                        "cannot read " + what + ": " + std::strerror(errno));
    }
    if (n == 0) break;
    size += static_cast<std::size_t>(n);
    if (stop_at_newline && buffer[size - 1] == '\n') break;
  }
  if (size > kMaxSecretSize) {
    OPENSSL_cleanse(buffer.data(), buffer.size());
    return make_error(ErrorCode::kSecretUnavailable,
                      what + " is longer than " + std::to_string(kMaxSecretSize) + " bytes");
  }
  while (size > 0 && (buffer[size - 1] == '\n' || buffer[size - 1] == '\r')) --size;
  SecretBytes secret(ByteView(buffer.data(), size));
  OPENSSL_cleanse(buffer.data(), buffer.size());
  if (secret.empty()) return make_error(ErrorCode::kSecretUnavailable, what + " is empty");
  return secret;
}

Result<SecretBytes> read_from_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return make_error(ErrorCode::kSecretUnavailable,
                      "cannot open secret file '" + path + "': " + std::strerror(errno));
  }
  auto secret = read_fd(fd, "secret file '" + path + "'", false);
  ::close(fd);
  return secret;
}

Result<SecretBytes> read_from_env(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) {
    return make_error(ErrorCode::kSecretUnavailable,
                      "environment variable " + name + " is not set");
  }
  std::size_t size = std::strlen(value);
  if (size == 0)
    return make_error(ErrorCode::kSecretUnavailable, "environment variable " + name + " is empty");
  if (size > kMaxSecretSize) {
    return make_error(ErrorCode::kSecretUnavailable,
                      "environment variable " + name + " is too long");
  }
  return SecretBytes(ByteView(reinterpret_cast<const std::uint8_t*>(value), size));
}

Result<SecretBytes> read_from_prompt(const std::string& prompt) {
  int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    return make_error(ErrorCode::kSecretUnavailable,
                      "no terminal to prompt for " + prompt + "; use file:PATH or env:NAME");
  }
  termios saved{};
  bool restore = ::tcgetattr(fd, &saved) == 0;
  if (restore) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  std::string text = prompt + ": ";
  (void)!::write(fd, text.data(), text.size());
  auto secret = read_fd(fd, prompt, true);
  if (restore) ::tcsetattr(fd, TCSAFLUSH, &saved);
  (void)!::write(fd, "\n", 1);
  ::close(fd);
  return secret;
}
}  // namespace

Result<SecretSource> SecretSource::parse(const std::string& spec, const std::string& what) {
  if (spec == "prompt") return SecretSource{Kind::kPrompt, what};
  if (spec.rfind("file:", 0) == 0 && spec.size() > 5)
    return SecretSource{Kind::kFile, spec.substr(5)};
  if (spec.rfind("env:", 0) == 0 && spec.size() > 4)
    return SecretSource{Kind::kEnv, spec.substr(4)};
  // Deliberately does not echo `spec`: a user may have typed the PIN itself here.
  return make_error(ErrorCode::kInvalidArgument,
                    "the source of the " + what + " must be file:PATH, env:NAME or prompt");
}

std::string SecretSource::describe() const {
  switch (kind) {
    case Kind::kFile:
      return "file:" + location;
    case Kind::kEnv:
      return "env:" + location;
    case Kind::kPrompt:
      return "prompt";
  }
  return "prompt";
}

Result<SecretBytes> read_secret(const SecretSource& source) {
  switch (source.kind) {
    case SecretSource::Kind::kFile:
      return read_from_file(source.location);
    case SecretSource::Kind::kEnv:
      return read_from_env(source.location);
    case SecretSource::Kind::kPrompt:
      return read_from_prompt(source.location);
  }
  return make_error(ErrorCode::kInternal, "unknown secret source");
}

}  // namespace medledger::core
