// ustar writer and reader (audit_tar.h). Headers are the POSIX.1-1988 layout:
// name[100] mode[8] uid[8] gid[8] size[12] mtime[12] chksum[8] typeflag linkname[100]
// magic "ustar\0" version "00" uname[32] gname[32] devmajor[8] devminor[8] prefix[155].
#include "audit_tar.h"

#include <array>

#include <boost/json.hpp>

#include "medledger/ca/certificate.h"
#include "medledger/core/assert.h"
#include "medledger/core/error.h"
#include "medledger/ledger/transaction.h"

namespace medledger::node::detail {

namespace json = boost::json;

namespace {

constexpr std::size_t kBlock = 512;
constexpr std::size_t kNameOffset = 0, kModeOffset = 100, kUidOffset = 108, kGidOffset = 116,
                      kSizeOffset = 124, kMtimeOffset = 136, kChecksumOffset = 148,
                      kTypeOffset = 156, kMagicOffset = 257, kUnameOffset = 265, kGnameOffset = 297;

core::Error bad(const std::string& what) {
  return core::make_error(core::ErrorCode::kBundleMismatch, "tar structure: " + what);
}

// `value` as width - 1 octal digits and a NUL, as GNU tar writes numeric fields.
void octal(std::array<char, kBlock>& h, std::size_t offset, std::size_t width,
           std::uint64_t value) {
  for (std::size_t i = width - 1; i-- > 0; value >>= 3)
    h[offset + i] = static_cast<char>('0' + (value & 7));
  h[offset + width - 1] = '\0';
}

std::uint64_t checksum(const char* header) {
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < kBlock; ++i) {
    const bool in_field = i >= kChecksumOffset && i < kChecksumOffset + 8;
    sum += in_field ? static_cast<unsigned char>(' ') : static_cast<unsigned char>(header[i]);
  }
  return sum;
}

std::optional<std::uint64_t> parse_octal(std::string_view field) {
  std::uint64_t value = 0;
  std::size_t i = 0;
  while (i < field.size() && field[i] == ' ') ++i;
  std::size_t digits = 0;
  for (; i < field.size() && field[i] >= '0' && field[i] <= '7'; ++i, ++digits)
    value = value * 8 + static_cast<std::uint64_t>(field[i] - '0');
  for (; i < field.size(); ++i)
    if (field[i] != '\0' && field[i] != ' ') return std::nullopt;
  if (digits == 0) return std::nullopt;
  return value;
}

bool all_zero(std::string_view bytes) {
  return bytes.find_first_not_of('\0') == std::string_view::npos;
}

}  // namespace

core::Result<void> TarWriter::emit(std::string_view bytes) {
  if (max_bytes_ != 0 && written_ + bytes.size() > max_bytes_) {
    return core::make_error(core::ErrorCode::kExportTooLarge,
                            "the export exceeds the limit of " + std::to_string(max_bytes_) +
                                " bytes ([audit] max_export_bytes); narrow the patient, "
                                "record or time range");
  }
  MEDLEDGER_TRY(sink_(bytes));
  written_ += bytes.size();
  return core::success();
}

core::Result<void> TarWriter::add(std::string_view name, std::string_view content) {
  MEDLEDGER_ASSERT(!name.empty() && name.size() < 100);
  std::array<char, kBlock> h{};
  name.copy(h.data() + kNameOffset, name.size());
  octal(h, kModeOffset, 8, 0644);
  octal(h, kUidOffset, 8, 0);
  octal(h, kGidOffset, 8, 0);
  octal(h, kSizeOffset, 12, content.size());
  octal(h, kMtimeOffset, 12, static_cast<std::uint64_t>(mtime_ < 0 ? 0 : mtime_));
  h[kTypeOffset] = '0';
  std::string_view(
      "ustar\0"
      "00",
      8)
      .copy(h.data() + kMagicOffset, 8);
  std::string_view("medledger").copy(h.data() + kUnameOffset, 9);
  std::string_view("medledger").copy(h.data() + kGnameOffset, 9);
  octal(h, kChecksumOffset, 7, checksum(h.data()));  // six digits, NUL, then a space
  h[kChecksumOffset + 7] = ' ';
  MEDLEDGER_TRY(emit(std::string_view(h.data(), h.size())));
  MEDLEDGER_TRY(emit(content));
  static constexpr std::array<char, kBlock> kZeros{};
  const std::size_t pad = (kBlock - content.size() % kBlock) % kBlock;
  return emit(std::string_view(kZeros.data(), pad));
}

core::Result<void> TarWriter::finish() {
  static constexpr std::array<char, 2 * kBlock> kEnd{};
  return emit(std::string_view(kEnd.data(), kEnd.size()));
}

core::Result<std::vector<TarMember>> read_tar(std::string_view archive) {
  std::vector<TarMember> out;
  std::size_t at = 0;
  for (;;) {
    if (archive.size() - at < kBlock) return bad("the archive ends inside a header");
    std::string_view header = archive.substr(at, kBlock);
    if (all_zero(header)) {
      if (archive.size() - at < 2 * kBlock || !all_zero(archive.substr(at)))
        return bad("bytes after the end-of-archive blocks");
      return out;
    }
    std::string name(header.substr(kNameOffset, 100).substr(0, header.find('\0')));
    const std::string where = "the header of " + (name.empty() ? "a member" : name);
    auto sum = parse_octal(header.substr(kChecksumOffset, 8));
    if (!sum || *sum != checksum(header.data())) return bad(where + ": checksum");
    if (header.substr(kMagicOffset, 6) != std::string_view("ustar\0", 6))
      return bad(where + ": not ustar");
    if (header[kTypeOffset] != '0' && header[kTypeOffset] != '\0')
      return bad(where + ": not a regular file");
    if (header[345] != '\0') return bad(where + ": prefix names are not used");
    auto size = parse_octal(header.substr(kSizeOffset, 12));
    if (!size) return bad(where + ": size");
    at += kBlock;
    const std::uint64_t padded = (*size + kBlock - 1) / kBlock * kBlock;
    if (archive.size() - at < padded) return bad(where + ": the archive ends inside it");
    std::string_view content = archive.substr(at, *size);
    if (!all_zero(archive.substr(at + *size, padded - *size)))
      return bad(where + ": padding is not zero");
    out.push_back({std::move(name), content});
    at += padded;
  }
}

core::Result<std::string> anchor_pems(const ledger::Transaction& tx) {
  std::vector<const json::value*> lists;
  if (tx.type == ledger::kTxGenesis) {
    if (const auto* hospitals = tx.body.if_contains("hospitals");
        hospitals && hospitals->is_array())
      for (const auto& h : hospitals->as_array())
        if (h.is_object()) lists.push_back(h.as_object().if_contains("ca_certs"));
  } else if (tx.type == ledger::kTxHospitalAdmit) {
    lists.push_back(tx.body.if_contains("ca_certs"));
  }
  std::string out;
  for (const auto* list : lists) {
    if (list == nullptr || !list->is_array()) continue;
    for (const auto& pem : list->as_array()) {
      if (!pem.is_string()) continue;
      MEDLEDGER_TRY_ASSIGN(auto cert, ca::Certificate::from_pem(std::string_view(pem.as_string())));
      out += cert.to_pem();
    }
  }
  return out;
}

}  // namespace medledger::node::detail
