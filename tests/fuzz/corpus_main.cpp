// Runs the fuzz target over corpus files (one input per file) as a TAP test,
// so every build checks the corpus, crashes found before included.
#include <glib.h>

#include <cstdint>
#include <cstdio>

extern "C" int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
main (int argc, char **argv)
{
  std::printf ("1..%d\n", argc - 1);
  for (int i = 1; i < argc; i++) {
    gchar *contents = nullptr;
    gsize length = 0;
    const bool read = g_file_get_contents (argv[i], &contents, &length, nullptr);
    if (read)
      LLVMFuzzerTestOneInput (reinterpret_cast<const uint8_t *> (contents), length);
    std::printf ("%s %d %s\n", read ? "ok" : "not ok", i, argv[i]);
    g_free (contents);
  }
  return 0;
}
