#pragma once

// Command-line, YAML and environment options for the wsgw daemons.
//
// A daemon binds each option to a field of its own config struct; the field's value at
// registration time is the default:
//
//   OptionSet opts("ws-gateway", "Socket.IO-compatible WebSocket gateway");
//   opts.add("listen", "HOST:PORT for plain HTTP/WebSocket", cfg.listen);
//   opts.add_duration_ms("ping-interval", "server ping period", cfg.ping_interval_ms);
//   opts.add_secret("jwt-secret", "HS256 key", cfg.jwt_secret);
//   ParseResult r = opts.parse(argc, argv);
//
// Sources, lowest precedence first (each later one overrides the earlier):
//   1. the default (the bound field's value when parse() starts)
//   2. environment variables WSGW_<NAME>, dashes as underscores: WSGW_JWT_SECRET.
//      An empty variable counts as unset, so templated manifests can leave one blank.
//   3. the YAML file named by --config FILE (or, without the flag, by WSGW_CONFIG):
//      a mapping whose keys are option names; '_' may replace '-' ("jwt_secret").
//   4. command-line flags: --name value, --name=value; bool flags take no value
//      (--flag) or an inline one (--flag=false). A repeated flag: the last one wins.
//      A separate value never starts with "--" (that reads as a forgotten value); write
//      --name=--odd instead. Flag names accept '_' for '-' as well.
// The environment is deliberately the weakest source: it carries what the deployment
// injects (Kubernetes Secrets), while the file and the flags are what an operator wrote
// on purpose for this process.
//
// Value syntax per type: integers in decimal; bools true/false/yes/no/on/off/1/0;
// lists comma-separated ("a,b", items trimmed, empty items dropped) or, in YAML, also a
// sequence; durations and byte sizes as in value_parsers.h ("25s", "64KiB").
//
// In YAML, quote values that start with '[' or contain ": " ("[::1]:443"). The file may
// not exceed 4 MiB, nor may its values after alias expansion.
//
// The bound fields must outlive the OptionSet.
// parse() never throws and is meant to be called once. On failure the bound fields may
// hold a mix of old and new values; the daemon is expected to print the error and exit.

#include <concepts>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/config/value_parsers.h"

namespace wsgw::config {

struct ParseResult {
  bool ok = true;
  bool help = false;   // --help or -h was given: print help_text() and exit 0
  std::string error;   // set when !ok; names the option, the source and the offending value
};

// Looks an environment variable up; std::nullopt when it is not set.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// The process environment (getenv).
std::optional<std::string> process_env_lookup(const std::string& name);

inline constexpr std::string_view kEnvPrefix = "WSGW_";

// "jwt-secret" -> "WSGW_JWT_SECRET".
std::string env_var_name(std::string_view option_name);

namespace detail {

// How an option's value is written by dump_effective().
// list: comma-separated, a later source replaces it. repeated: one item per occurrence of the
// flag (values may contain commas), newline-separated in an environment variable.
enum class ValueKind { scalar, list, repeated };

struct Option {
  std::string name;        // canonical, with dashes
  std::string help;
  std::string type_label;  // shown in --help: "int", "bool", "none|jwt", "duration", ...
  ValueKind kind = ValueKind::scalar;
  bool is_bool = false;
  bool secret = false;
  std::string default_text;
  std::string source;  // where the current value came from; empty while it is the default
  // Parses `text` into the bound field. On failure it leaves the field alone and puts a
  // short reason in `why` ("expected an integer").
  std::function<bool(std::string_view text, std::string& why)> set;
  std::function<std::string()> format;          // the current value as text
  std::vector<std::string>* list = nullptr;     // for list options: YAML sequences fill it
};

bool parse_signed(std::string_view text, std::int64_t min, std::int64_t max, std::int64_t& out,
                  std::string& why);
bool parse_unsigned(std::string_view text, std::uint64_t max, std::uint64_t& out, std::string& why);
bool parse_double(std::string_view text, double& out, std::string& why);
std::string format_double(double value);

template <typename T>
concept Integer = std::integral<T> && !std::same_as<T, bool>;

// Stores `value` into an integer field if it fits; otherwise explains the range.
template <Integer T>
bool store_unsigned(std::uint64_t value, T& field, std::string& why) {
  if (value > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) {
    why = "out of range (at most " + std::to_string(std::numeric_limits<T>::max()) + ")";
    return false;
  }
  field = static_cast<T>(value);
  return true;
}

}  // namespace detail

class OptionSet {
 public:
  // Returned by add*(): lets a registration be refined in the same statement.
  class OptionHandle {
   public:
    explicit OptionHandle(detail::Option& option) : option_(&option) {}
    // The value is printed as "***" by dump_effective() and help_text() and is never
    // echoed in error messages.
    OptionHandle& secret() {
      option_->secret = true;
      return *this;
    }

   private:
    detail::Option* option_;
  };

  OptionSet(std::string program_name, std::string description);

  OptionHandle add(std::string_view name, std::string_view help, std::string& field);
  OptionHandle add(std::string_view name, std::string_view help, bool& field);
  OptionHandle add(std::string_view name, std::string_view help, double& field);
  OptionHandle add(std::string_view name, std::string_view help, std::vector<std::string>& field);
  OptionHandle add(std::string_view name, std::string_view help, HostPort& field);
  // A repeatable flag: every "--name VALUE" on the command line adds VALUE verbatim (commas
  // included); an environment variable holds items one per line; a config file a YAML list.
  // The command line's items replace those of the file, which replace the environment's.
  OptionHandle add_repeated(std::string_view name, std::string_view help, std::vector<std::string>& field);

  template <detail::Integer T>
  OptionHandle add(std::string_view name, std::string_view help, T& field) {
    auto set = [&field](std::string_view text, std::string& why) {
      if constexpr (std::is_signed_v<T>) {
        std::int64_t value = 0;
        if (!detail::parse_signed(text, std::numeric_limits<T>::min(), std::numeric_limits<T>::max(),
                                  value, why)) {
          return false;
        }
        field = static_cast<T>(value);
      } else {
        std::uint64_t value = 0;
        if (!detail::parse_unsigned(text, std::numeric_limits<T>::max(), value, why)) return false;
        field = static_cast<T>(value);
      }
      return true;
    };
    auto format = [&field] { return std::to_string(field); };
    return add_option(name, help, std::is_signed_v<T> ? "int" : "uint", std::move(set),
                      std::move(format));
  }

  OptionHandle add_secret(std::string_view name, std::string_view help, std::string& field) {
    return add(name, help, field).secret();
  }

  // A string restricted to `choices` (matched exactly, case-sensitive).
  OptionHandle add_choice(std::string_view name, std::string_view help, std::string& field,
                          std::vector<std::string> choices);

  // Milliseconds in an integer field: accepts 25000, "25000", "25s", "300ms", "2m", "1m30s".
  template <detail::Integer T>
  OptionHandle add_duration_ms(std::string_view name, std::string_view help, T& field_ms) {
    auto set = [&field_ms](std::string_view text, std::string& why) {
      std::uint64_t ms = 0;
      if (!parse_duration_ms(text, ms)) {
        why = "expected a duration such as 300ms, 25s, 2m, 1h or 1m30s (bare numbers are ms)";
        return false;
      }
      return detail::store_unsigned(ms, field_ms, why);
    };
    auto format = [&field_ms] {
      if constexpr (std::is_signed_v<T>) {
        if (field_ms < 0) return std::to_string(field_ms);  // a negative default, shown as is
      }
      return format_duration_ms(static_cast<std::uint64_t>(field_ms));
    };
    return add_option(name, help, "duration", std::move(set), std::move(format));
  }

  // Bytes in an integer field: accepts 1000000, "1MB", "64KiB", "1m" (see parse_bytes).
  template <detail::Integer T>
  OptionHandle add_bytes(std::string_view name, std::string_view help, T& field_bytes) {
    auto set = [&field_bytes](std::string_view text, std::string& why) {
      std::uint64_t bytes = 0;
      if (!parse_bytes(text, bytes)) {
        why = "expected a size such as 1048576, 64KiB, 1MB or 1m";
        return false;
      }
      return detail::store_unsigned(bytes, field_bytes, why);
    };
    auto format = [&field_bytes] {
      if constexpr (std::is_signed_v<T>) {
        if (field_bytes < 0) return std::to_string(field_bytes);
      }
      return format_bytes(static_cast<std::uint64_t>(field_bytes));
    };
    return add_option(name, help, "size", std::move(set), std::move(format));
  }

  // Resolves every source in precedence order (see the top of this file).
  ParseResult parse(int argc, const char* const* argv);
  ParseResult parse(int argc, const char* const* argv, const EnvLookup& env_lookup);

  // A daemon's whole command line: parse(), then `validate` (the checks the option kinds cannot
  // make). Returns the exit code when the process should stop now: 0 after printing --help,
  // 2 after printing the error (and a pointer to --help) to stderr. nullopt: go on.
  std::optional<int> parse_command_line(int argc, const char* const* argv,
                                        const std::function<bool(std::string& error)>& validate);

  // Applies a YAML document as --config would; `source_name` prefixes error messages.
  // Exposed for tests and fuzzing; parse() calls it with the file's contents.
  ParseResult apply_yaml(std::string_view yaml_text, std::string_view source_name);

  // Usage, every option with its type, default and environment variable.
  std::string help_text() const;

  // The resolved configuration as a YAML mapping (secrets as "***"; an empty secret as
  // "", so a missing one is noticed), for the startup log. Values set by something other than the default carry a comment naming the
  // source. The output is valid input for --config.
  std::string dump_effective() const;

 private:
  OptionHandle add_option(std::string_view name, std::string_view help, std::string type_label,
                          std::function<bool(std::string_view, std::string&)> set,
                          std::function<std::string()> format);
  detail::Option* find(std::string_view name) const;
  // Sets `option` from `text` and records `origin` as its source; on failure `error`
  // names the option, the value and `where` it came from.
  bool apply(detail::Option& option, std::string_view text, const std::string& origin,
             const std::string& where, std::string& error);

  std::string program_name_;
  std::string description_;
  std::vector<std::unique_ptr<detail::Option>> options_;  // stable addresses for handles
  std::string registration_error_;  // a programming error, reported by parse()
};

}  // namespace wsgw::config
