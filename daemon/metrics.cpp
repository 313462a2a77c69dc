#include "metrics.h"

#include <glib.h>

#include <charconv>
#include <cmath>
#include <string>

namespace callstreamd {

namespace {

bool
valid_metric_name (std::string_view name)
{
  if (name.empty () || g_ascii_isdigit (name.front ()))
    return false;
  for (char c : name)
    if (!g_ascii_isalnum (c) && c != '_' && c != ':')
      return false;
  return true;
}

// HELP text escapes backslash and newline; label values also the double quote.
std::string
escape (std::string_view text, bool quote)
{
  std::string escaped;
  escaped.reserve (text.size ());
  for (char c : text) {
    if (c == '\\')
      escaped += "\\\\";
    else if (c == '\n')
      escaped += "\\n";
    else if (c == '"' && quote)
      escaped += "\\\"";
    else
      escaped += c;
  }
  return escaped;
}

std::string
format_double (double value)
{
  if (std::isnan (value))
    return "NaN";
  if (std::isinf (value))
    return value > 0 ? "+Inf" : "-Inf";
  // Integers as integers ("1", not "1e+00"); the rest in the shortest form
  // that reads back to the same double.
  if (std::fabs (value) < 9007199254740992.0 && value == std::trunc (value))
    return std::to_string (static_cast<int64_t> (value));
  char text[32];
  const auto result = std::to_chars (text, text + sizeof text, value);
  return std::string (text, result.ptr);
}

}  // namespace

Metrics::Series &
Metrics::series (Type type, std::string_view name, std::string_view help,
    std::string_view provider)
{
  const std::string name_text (name);
  if (!valid_metric_name (name))
    g_error ("metric name \"%s\" is not [a-zA-Z_:][a-zA-Z0-9_:]*", name_text.c_str ());
  auto found = families_.find (name);
  if (found == families_.end ())
    found = families_.emplace (name_text, Family { type, std::string (help), {} }).first;
  Family &family = found->second;
  if (family.type != type || family.help != help)
    g_error ("metric \"%s\" registered again with another type or help text", name_text.c_str ());
  auto series = family.series.find (provider);
  if (series == family.series.end ())
    series = family.series.emplace (std::string (provider), Series {}).first;
  return series->second;
}

Counter &
Metrics::counter (std::string_view name, std::string_view help, std::string_view provider)
{
  std::lock_guard guard (lock_);
  Series &series = this->series (Type::kCounter, name, help, provider);
  if (series.read)
    g_error ("metric \"%s\" is already a callback counter", std::string (name).c_str ());
  if (!series.counter)
    series.counter = std::make_unique<Counter> ();
  return *series.counter;
}

Gauge &
Metrics::gauge (std::string_view name, std::string_view help, std::string_view provider)
{
  std::lock_guard guard (lock_);
  Series &series = this->series (Type::kGauge, name, help, provider);
  if (series.read)
    g_error ("metric \"%s\" is already a callback gauge", std::string (name).c_str ());
  if (!series.gauge)
    series.gauge = std::make_unique<Gauge> ();
  return *series.gauge;
}

void
Metrics::gauge_callback (std::string_view name, std::string_view help,
    std::function<double ()> read, std::string_view provider)
{
  std::lock_guard guard (lock_);
  Series &series = this->series (Type::kGauge, name, help, provider);
  if (series.gauge || series.read)
    g_error ("metric \"%s\" with provider \"%s\" is already registered",
        std::string (name).c_str (), std::string (provider).c_str ());
  series.read = std::move (read);
}

void
Metrics::counter_callback (std::string_view name, std::string_view help,
    std::function<double ()> read, std::string_view provider)
{
  std::lock_guard guard (lock_);
  Series &series = this->series (Type::kCounter, name, help, provider);
  if (series.counter || series.read)
    g_error ("metric \"%s\" with provider \"%s\" is already registered",
        std::string (name).c_str (), std::string (provider).c_str ());
  series.read = std::move (read);
}

std::string
Metrics::render () const
{
  std::lock_guard guard (lock_);
  std::string text;
  for (const auto &[name, family] : families_) {
    text += "# HELP " + name + " " + escape (family.help, false) + "\n";
    text += "# TYPE " + name + (family.type == Type::kCounter ? " counter\n" : " gauge\n");
    for (const auto &[provider, series] : family.series) {
      text += name;
      if (!provider.empty ())
        text += "{provider=\"" + escape (provider, true) + "\"}";
      text += ' ';
      if (series.counter)
        text += std::to_string (series.counter->value ());
      else if (series.gauge)
        text += std::to_string (series.gauge->value ());
      else
        text += format_double (series.read ());
      text += '\n';
    }
  }
  return text;
}

}  // namespace callstreamd
