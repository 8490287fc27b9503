# md_math.awk: Doxygen's input filter for zoo's Markdown pages (see Doxyfile.in).
#
# The lessons write their maths as GitHub does, $...$ inline and $$...$$ for a display;
# Doxygen wants \f$...\f$ and \f[...\f]. This filter rewrites the one into the other,
# leaving fenced code blocks and `code spans` alone. For a tutorial's README.md it also
# appends the full source of the lesson's main.cpp to the page, and points the
# README's links to main.cpp there, so the docs show the lesson and the program side
# by side; the page is labelled tutorial_NN_slug, so a header's comment can say
# `Lesson: @ref tutorial_13_ddpm`, and it ends with links to the headers of zoo that
# the program includes, so the lesson leads to the API and the API back to the lesson.
# It runs on every .md file Doxygen reads; the file on disk is not changed.
# Plain POSIX awk (Debian's default mawk is enough).

BEGIN { in_fence = 0; in_inline = 0; in_display = 0; lesson = ""; labelled = 0 }

# Is this tutorials/NN_slug/README.md? Then `lesson` is NN_slug.
NR == 1 && match(FILENAME, /[0-9][0-9]_[A-Za-z0-9_]+\/README\.md$/) {
  lesson = substr(FILENAME, RSTART, RLENGTH - length("/README.md"))
}

# A lesson's title, its first level-1 heading, gets the page's label.
lesson != "" && !labelled && /^# / { labelled = 1; $0 = $0 " {#tutorial_" lesson "}" }

# A fence line (``` or ~~~, possibly indented) opens or closes a code block.
/^[ \t]*(```|~~~)/ { in_fence = !in_fence; print; next }
in_fence { print; next }

{
  line = $0
  # [text](main.cpp) -> a link to the program at the end of this page.
  if (lesson != "") gsub(/\]\(main\.cpp\)/, "](@ref tutorial_" lesson "_program)", line)
  out = ""
  i = 1
  n = length(line)
  while (i <= n) {
    c = substr(line, i, 1)
    if (c == "\\" && i < n) {                    # an escaped character, e.g. \$: keep both
      out = out substr(line, i, 2); i += 2; continue
    }
    if (c == "`" && !in_inline && !in_display) { # a code span: copy it up to its closing `
      rest = substr(line, i + 1)
      close_at = index(rest, "`")
      if (close_at == 0) { out = out substr(line, i); break }
      out = out substr(line, i, close_at + 1); i += close_at + 1; continue
    }
    if (c == "$" && substr(line, i + 1, 1) == "$" && !in_inline) {  # $$ opens/closes a display
      out = out (in_display ? "\\f]" : "\\f[")
      in_display = !in_display; i += 2; continue
    }
    if (c == "$" && !in_display) {               # $ opens/closes inline maths
      out = out "\\f$"
      in_inline = !in_inline; i += 1; continue
    }
    out = out c; i += 1
  }
  print out
}

# A lesson's page ends with its program: tutorials/NN_slug/README.md shows NN_slug/main.cpp
# (found through EXAMPLE_PATH, which is the tutorials folder).
END {
  if (lesson != "") {
    program = substr(FILENAME, 1, length(FILENAME) - length("README.md")) "main.cpp"
    # `#include "autograd/..."`, `"nn/..."` or `"models/..."` in the program: zoo's
    # headers, each a link to its reference page.
    first = 1
    while ((getline include_line < program) > 0) {
      if (match(include_line, /^#include "(autograd|nn|models)\/[^"]+"/)) {
        if (first) { print ""; print "## The API this lesson uses"; print ""; first = 0 }
        header = substr(include_line, RSTART + 10, RLENGTH - 11)
        print "- \\ref " header
      }
    }
    close(program)
    print ""
    print "## The program {#tutorial_" lesson "_program}"
    print ""
    print "The complete `" lesson "/main.cpp`, which CTest builds and runs as `tutorial:" lesson "`:"
    print ""
    print "\\include{lineno} " lesson "/main.cpp"
  }
}
