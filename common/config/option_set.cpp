#include "common/config/option_set.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

namespace wsgw::config {
namespace {

// A config file is a few kilobytes; anything this large is a wrong path, not a config.
constexpr std::size_t kMaxConfigFileBytes = 4 * 1024 * 1024;

constexpr std::string_view kConfigFlag = "config";

std::string canonical_name(std::string_view name) {
  std::string out(name);
  std::replace(out.begin(), out.end(), '_', '-');
  return out;
}

bool is_valid_option_name(std::string_view name) {
  if (name.empty() || name.front() == '-' || name.back() == '-') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

// Text from the outside, made safe for an error message: bounded and printable.
std::string printable(std::string_view text) {
  constexpr std::size_t kMaxShown = 80;
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < kMaxShown; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
  }
  if (text.size() > kMaxShown) out += "...";
  return out;
}

std::string quote_value(std::string_view value, bool secret) {
  return "\"" + (secret ? std::string("***") : printable(value)) + "\"";
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> items;
  while (true) {
    const auto comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (!item.empty()) items.emplace_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return items;
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

bool read_small_file(const std::string& path, std::string& out, std::string& error) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    error = "cannot open config file \"" + path + "\": " + std::strerror(errno);
    return false;
  }
  out.clear();
  char buffer[16 * 1024];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) {
    out.append(buffer, n);
    if (out.size() > kMaxConfigFileBytes) {
      std::fclose(file);
      error = "config file \"" + path + "\" is larger than " + format_bytes(kMaxConfigFileBytes);
      return false;
    }
  }
  const bool failed = std::ferror(file) != 0;
  const int read_errno = errno;
  std::fclose(file);
  if (failed) {
    error = "cannot read config file \"" + path + "\": " + std::strerror(read_errno);
    return false;
  }
  return true;
}

ParseResult failure(std::string error) { return ParseResult{false, false, std::move(error)}; }

}  // namespace

std::optional<std::string> process_env_lookup(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

std::string env_var_name(std::string_view option_name) {
  std::string out(kEnvPrefix);
  for (char c : option_name) {
    if (c == '-') {
      out += '_';
    } else if (c >= 'a' && c <= 'z') {
      out += static_cast<char>(c - 'a' + 'A');
    } else {
      out += c;
    }
  }
  return out;
}

namespace detail {

bool parse_signed(std::string_view text, std::int64_t min, std::int64_t max, std::int64_t& out,
                  std::string& why) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || end != text.data() + text.size() ||
      (ec != std::errc{} && ec != std::errc::result_out_of_range)) {
    why = "expected an integer";
    return false;
  }
  if (ec == std::errc::result_out_of_range || value < min || value > max) {
    why = "out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]";
    return false;
  }
  out = value;
  return true;
}

bool parse_unsigned(std::string_view text, std::uint64_t max, std::uint64_t& out, std::string& why) {
  std::string_view digits = text;
  const bool negative = !digits.empty() && digits.front() == '-';
  if (negative) digits.remove_prefix(1);
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || end != digits.data() + digits.size() ||
      (ec != std::errc{} && ec != std::errc::result_out_of_range)) {
    why = "expected an integer";
    return false;
  }
  if (negative || ec == std::errc::result_out_of_range || value > max) {
    why = "out of range [0, " + std::to_string(max) + "]";
    return false;
  }
  out = value;
  return true;
}

bool parse_double(std::string_view text, double& out, std::string& why) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec == std::errc::invalid_argument || end != text.data() + text.size()) {
    why = "expected a number";
    return false;
  }
  if (ec == std::errc::result_out_of_range || !std::isfinite(value)) {
    why = "expected a finite number";
    return false;
  }
  out = value;
  return true;
}

std::string format_double(double value) {
  char buffer[64];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  if (ec != std::errc{}) return "?";
  return std::string(buffer, end);
}

}  // namespace detail

OptionSet::OptionSet(std::string program_name, std::string description)
    : program_name_(std::move(program_name)), description_(std::move(description)) {}

OptionSet::OptionHandle OptionSet::add_option(std::string_view name, std::string_view help,
                                              std::string type_label,
                                              std::function<bool(std::string_view, std::string&)> set,
                                              std::function<std::string()> format) {
  // A bad registration is a programming error; parse() reports it so the first run
  // of the daemon (or its tests) fails loudly instead of this constructor throwing.
  if (registration_error_.empty()) {
    if (!is_valid_option_name(name)) {
      registration_error_ = "invalid option name \"" + std::string(name) +
                            "\" (use lowercase letters, digits and inner dashes)";
    } else if (name == kConfigFlag || name == "help") {
      registration_error_ = "option name \"" + std::string(name) + "\" is reserved";
    } else if (find(name) != nullptr) {
      registration_error_ = "option \"" + std::string(name) + "\" is registered twice";
    }
  }
  auto option = std::make_unique<detail::Option>();
  option->name = name;
  option->help = help;
  option->type_label = std::move(type_label);
  option->set = std::move(set);
  option->format = std::move(format);
  option->default_text = option->format();
  options_.push_back(std::move(option));
  return OptionHandle(*options_.back());
}

OptionSet::OptionHandle OptionSet::add(std::string_view name, std::string_view help,
                                       std::string& field) {
  return add_option(
      name, help, "string",
      [&field](std::string_view text, std::string&) {
        field.assign(text);
        return true;
      },
      [&field] { return field; });
}

OptionSet::OptionHandle OptionSet::add(std::string_view name, std::string_view help, bool& field) {
  auto handle = add_option(
      name, help, "bool",
      [&field](std::string_view text, std::string& why) {
        if (parse_bool(text, field)) return true;
        why = "expected true or false";
        return false;
      },
      [&field] { return std::string(field ? "true" : "false"); });
  options_.back()->is_bool = true;
  return handle;
}

OptionSet::OptionHandle OptionSet::add(std::string_view name, std::string_view help, double& field) {
  return add_option(
      name, help, "number",
      [&field](std::string_view text, std::string& why) { return detail::parse_double(text, field, why); },
      [&field] { return detail::format_double(field); });
}

OptionSet::OptionHandle OptionSet::add_repeated(std::string_view name, std::string_view help,
                                                std::vector<std::string>& field) {
  auto handle = add_option(
      name, help, "item, repeatable",
      [&field](std::string_view text, std::string&) {
        while (true) {  // one item per line (an environment variable); a flag has one line
          const auto newline = text.find('\n');
          std::string_view item = text.substr(0, newline);
          if (!item.empty() && item.back() == '\r') item.remove_suffix(1);
          if (!item.empty()) field.emplace_back(item);
          if (newline == std::string_view::npos) break;
          text.remove_prefix(newline + 1);
        }
        return true;
      },
      [&field] { return join(field, " "); });
  options_.back()->kind = detail::ValueKind::repeated;
  options_.back()->list = &field;
  return handle;
}

OptionSet::OptionHandle OptionSet::add(std::string_view name, std::string_view help,
                                       std::vector<std::string>& field) {
  auto handle = add_option(
      name, help, "list",
      [&field](std::string_view text, std::string&) {
        field = split_list(text);
        return true;
      },
      [&field] { return join(field, ","); });
  options_.back()->kind = detail::ValueKind::list;
  options_.back()->list = &field;
  return handle;
}

OptionSet::OptionHandle OptionSet::add(std::string_view name, std::string_view help, HostPort& field) {
  return add_option(
      name, help, "host:port",
      [&field](std::string_view text, std::string& why) { return parse_host_port(text, field, why); },
      [&field] { return format_host_port(field); });
}

OptionSet::OptionHandle OptionSet::add_choice(std::string_view name, std::string_view help,
                                              std::string& field, std::vector<std::string> choices) {
  const std::string label = join(choices, "|");
  return add_option(
      name, help, label,
      [&field, choices = std::move(choices)](std::string_view text, std::string& why) {
        if (std::find(choices.begin(), choices.end(), text) != choices.end()) {
          field.assign(text);
          return true;
        }
        why = "expected one of: " + join(choices, ", ");
        return false;
      },
      [&field] { return field; });
}

detail::Option* OptionSet::find(std::string_view name) const {
  const std::string wanted = canonical_name(name);
  for (const auto& option : options_) {
    if (option->name == wanted) return option.get();
  }
  return nullptr;
}

bool OptionSet::apply(detail::Option& option, std::string_view text, const std::string& origin,
                      const std::string& where, std::string& error) {
  std::string why;
  if (!option.set(text, why)) {
    error = "invalid value " + quote_value(text, option.secret) + " for " + option.name + " (from " +
            where + "): " + why;
    return false;
  }
  option.source = origin;
  return true;
}

ParseResult OptionSet::parse(int argc, const char* const* argv) {
  return parse(argc, argv, process_env_lookup);
}

std::optional<int> OptionSet::parse_command_line(
    int argc, const char* const* argv, const std::function<bool(std::string& error)>& validate) {
  const ParseResult r = parse(argc, argv);
  if (r.help) {
    std::fputs(help_text().c_str(), stdout);
    return 0;
  }
  std::string error;
  if (!r.ok || !validate(error)) {
    std::fprintf(stderr, "%s: %s\n(see %s --help)\n", program_name_.c_str(),
                 r.ok ? error.c_str() : r.error.c_str(), program_name_.c_str());
    return 2;
  }
  return std::nullopt;
}

ParseResult OptionSet::parse(int argc, const char* const* argv, const EnvLookup& env_lookup) {
  try {
    if (!registration_error_.empty()) return failure("internal error: " + registration_error_);

    // Pass 1: read the command line without applying it, so --help wins over any error
    // and flags can be applied last.
    struct FlagValue {
      detail::Option* option;
      std::string value;
      std::string spelled;  // "--threads", for messages
    };
    std::vector<FlagValue> flags;
    std::optional<std::string> config_path;
    std::string first_error;
    auto note = [&first_error](std::string error) {
      if (first_error.empty()) first_error = std::move(error);
    };
    std::string bare_bool_flag;  // the previous argument, if it was a bool flag without '='
    for (int i = 1; i < argc; ++i) {
      const std::string_view arg = argv[i] != nullptr ? argv[i] : "";
      if (arg == "--help" || arg == "-h") return ParseResult{true, true, {}};
      if (!arg.starts_with("--") || arg == "--") {
        std::string error = "unexpected argument " + quote_value(arg, false);
        if (!bare_bool_flag.empty()) {
          error += " (a bool flag takes its value inline: " + bare_bool_flag + "=" + printable(arg) + ")";
        }
        note(std::move(error));
        bare_bool_flag.clear();
        continue;
      }
      bare_bool_flag.clear();
      const std::string_view body = arg.substr(2);
      const auto equals = body.find('=');
      const std::string_view name = body.substr(0, equals);
      const std::string spelled = "--" + printable(name);
      std::optional<std::string_view> value;
      if (equals != std::string_view::npos) value = body.substr(equals + 1);

      const bool is_config = canonical_name(name) == kConfigFlag;
      detail::Option* option = is_config ? nullptr : find(name);
      if (!is_config && option == nullptr) {
        note("unknown option " + spelled + " (see --help)");
        continue;
      }
      if (option != nullptr && option->is_bool) {
        if (!value) bare_bool_flag = spelled;
        flags.push_back({option, std::string(value.value_or("true")), spelled});
        continue;
      }
      if (!value) {
        // A value never starts with "--": "--listen --threads 4" is a forgotten value.
        if (i + 1 < argc && argv[i + 1] != nullptr && !std::string_view(argv[i + 1]).starts_with("--")) {
          value = argv[++i];
        } else {
          note("missing value for " + spelled);
          continue;
        }
      }
      if (is_config) {
        if (config_path) note("--config given more than once");
        config_path = std::string(*value);
      } else {
        flags.push_back({option, std::string(*value), spelled});
      }
    }
    if (!first_error.empty()) return failure(std::move(first_error));

    // Pass 2: sources in increasing precedence.
    for (auto& option : options_) {
      const std::string variable = env_var_name(option->name);
      const std::optional<std::string> value = env_lookup ? env_lookup(variable) : std::nullopt;
      if (!value || value->empty()) continue;
      std::string error;
      if (!apply(*option, *value, variable, "environment variable " + variable, error)) {
        return failure(std::move(error));
      }
    }

    if (!config_path) {
      const std::string variable = env_var_name(kConfigFlag);
      std::optional<std::string> from_env = env_lookup ? env_lookup(variable) : std::nullopt;
      if (from_env && !from_env->empty()) config_path = std::move(from_env);
    }
    if (config_path) {
      if (config_path->empty()) return failure("--config needs a file name");
      std::string text;
      std::string error;
      if (!read_small_file(*config_path, text, error)) return failure(std::move(error));
      ParseResult applied = apply_yaml(text, *config_path);
      if (!applied.ok) return applied;
    }

    std::set<const detail::Option*> repeated_seen;
    for (const FlagValue& flag : flags) {
      std::string error;
      // The command line's items of a repeated option replace the file's and environment's.
      if (flag.option->kind == detail::ValueKind::repeated && repeated_seen.insert(flag.option).second)
        flag.option->list->clear();
      if (!apply(*flag.option, flag.value, flag.spelled, flag.spelled, error)) {
        return failure(std::move(error));
      }
    }
    return ParseResult{};
  } catch (const std::exception& e) {
    // Bound fields' assignments can throw only bad_alloc; keep the no-throw promise.
    return failure(std::string("internal error while parsing options: ") + e.what());
  }
}

ParseResult OptionSet::apply_yaml(std::string_view yaml_text, std::string_view source_name) {
  const std::string source(source_name);
  try {
    const YAML::Node root = YAML::Load(std::string(yaml_text));
    if (root.IsNull()) return ParseResult{};  // an empty file sets nothing
    if (!root.IsMap()) {
      return failure(source + ": expected a mapping of option names to values at the top level");
    }
    std::set<std::string> seen;
    // Aliases let a small document name one large scalar many times ("[*big, *big, ...]");
    // count the bytes actually copied so that cannot turn into unbounded allocation.
    std::size_t value_bytes = 0;
    auto too_large = [&value_bytes](std::size_t more) {
      value_bytes += sizeof(std::string) + more;
      return value_bytes > kMaxConfigFileBytes;
    };
    const std::string too_large_error =
        source + ": values add up to more than " + format_bytes(kMaxConfigFileBytes) + " (through aliases?)";
    for (const auto& entry : root) {
      // Copies: yaml-cpp's iterator hands out a temporary pair proxy.
      const YAML::Node key = entry.first;
      const YAML::Node value = entry.second;
      const int line = key.Mark().line;
      const std::string where = line >= 0 ? source + " line " + std::to_string(line + 1) : source;
      if (!key.IsScalar()) return failure(where + ": keys must be option names");
      const std::string& name = key.Scalar();
      if (canonical_name(name) == kConfigFlag) {
        return failure(where + ": \"config\" cannot be set inside a config file");
      }
      detail::Option* option = find(name);
      if (option == nullptr) {
        return failure(where + ": unknown option " + quote_value(name, false));
      }
      if (!seen.insert(option->name).second) {
        return failure(where + ": option " + option->name + " is set more than once");
      }
      if (value.IsNull()) {
        return failure(where + ": option " + option->name + " has no value (write \"\" for an empty one)");
      }
      if (value.IsSequence()) {
        if (option->kind == detail::ValueKind::scalar) {
          return failure(where + ": option " + option->name + " takes a single value, not a list");
        }
        std::vector<std::string> items;
        for (const YAML::Node& item : value) {
          if (!item.IsScalar()) {
            return failure(where + ": option " + option->name + " must be a list of plain values");
          }
          if (too_large(item.Scalar().size())) return failure(too_large_error);
          items.push_back(item.Scalar());
        }
        *option->list = std::move(items);
        option->source = source;
        continue;
      }
      if (!value.IsScalar()) {
        return failure(where + ": option " + option->name + " takes a plain value, not a mapping");
      }
      std::string error;
      if (too_large(value.Scalar().size())) return failure(too_large_error);
      if (option->kind == detail::ValueKind::repeated) option->list->clear();  // replaces the environment's
      if (!apply(*option, value.Scalar(), source, where, error)) return failure(std::move(error));
    }
    return ParseResult{};
  } catch (const YAML::Exception& e) {
    return failure(source + ": invalid YAML: " + e.what());
  } catch (const std::exception& e) {
    return failure(source + ": cannot load YAML: " + e.what());
  }
}

std::string OptionSet::help_text() const {
  struct Row {
    std::string left;
    std::vector<std::string> lines;
  };
  std::vector<Row> rows;
  rows.push_back({"--config FILE",
                  {"YAML file of option values; keys are the option names below",
                   "env " + env_var_name(kConfigFlag)}});
  rows.push_back({"-h, --help", {"show this help and exit"}});
  for (const auto& option : options_) {
    Row row;
    row.left = "--" + option->name + (option->is_bool ? "[=bool]" : " <" + option->type_label + ">");
    std::string_view help = option->help;
    while (true) {  // multi-line help stays aligned
      const auto newline = help.find('\n');
      row.lines.emplace_back(help.substr(0, newline));
      if (newline == std::string_view::npos) break;
      help.remove_prefix(newline + 1);
    }
    std::string shown_default = option->default_text;
    if (option->secret && !shown_default.empty()) shown_default = "***";
    if (shown_default.empty()) shown_default = "\"\"";
    row.lines.push_back("default " + shown_default + ", env " + env_var_name(option->name));
    rows.push_back(std::move(row));
  }

  constexpr std::size_t kMaxLeftColumn = 32;
  std::size_t width = 0;
  for (const Row& row : rows) {
    if (row.left.size() <= kMaxLeftColumn) width = std::max(width, row.left.size());
  }
  const std::string indent(2 + width + 2, ' ');

  std::string out = "Usage: " + program_name_ + " [--config FILE] [--OPTION VALUE]...\n";
  if (!description_.empty()) out += description_ + "\n";
  out +=
      "\nEvery option can also be set as a key in the --config YAML file ('_' may replace '-')\n"
      "and as an environment variable " + std::string(kEnvPrefix) +
      "<NAME>. Precedence: flags > config file > environment > defaults.\n"
      "Durations: 300ms, 25s, 2m, 1h, 1m30s (bare numbers are ms). Sizes: 1024, 64KiB, 1MB (=10^6), 1m (=2^20).\n"
      "\nOptions:\n";
  for (const Row& row : rows) {
    out += "  " + row.left;
    std::size_t first = 0;
    if (row.left.size() <= width) {
      out += std::string(width - row.left.size() + 2, ' ') + row.lines[0] + "\n";
      first = 1;
    } else {
      out += "\n";
    }
    for (std::size_t i = first; i < row.lines.size(); ++i) out += indent + row.lines[i] + "\n";
  }
  return out;
}

std::string OptionSet::dump_effective() const {
  YAML::Emitter out;
  out << YAML::BeginMap;
  for (const auto& option : options_) {
    out << YAML::Key << option->name << YAML::Value;
    const bool has_value =
        option->kind != detail::ValueKind::scalar ? !option->list->empty() : !option->format().empty();
    if (option->secret && has_value) {
      out << "***";  // an empty secret stays visible as "", so a missing one is noticed
    } else if (option->kind != detail::ValueKind::scalar) {
      out << YAML::Flow << YAML::BeginSeq;
      for (const auto& item : *option->list) out << item;
      out << YAML::EndSeq;
    } else {
      out << option->format();
    }
    if (!option->source.empty()) out << YAML::Comment("from " + option->source);
  }
  out << YAML::EndMap;
  return std::string(out.c_str(), out.size()) + "\n";
}

}  // namespace wsgw::config
