# md_math.awk: Doxygen's input filter for zoo's Markdown pages (see Doxyfile.in).
#
# The lessons write their maths as GitHub does, $...$ inline and $$...$$ for a display;
# Doxygen wants \f$...\f$ and \f[...\f]. This filter rewrites the one into the other,
# leaving fenced code blocks and `code spans` alone. For a tutorial's README.md it also
# appends the full source of the lesson's main.cpp to the page, and points the
# README's links to main.cpp there, so the docs show the lesson and the program side
# by side. It runs on every .md file Doxygen reads; the file on disk is not changed.
# Plain POSIX awk (Debian's default mawk is enough).

BEGIN { in_fence = 0; in_inline = 0; in_display = 0; lesson = "" }

# Is this tutorials/NN_slug/README.md? Then `lesson` is NN_slug.
NR == 1 && match(FILENAME, /[0-9][0-9]_[A-Za-z0-9_]+\/README\.md$/) {
  lesson = substr(FILENAME, RSTART, RLENGTH - length("/README.md"))
}

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
    print ""
    print "## The program {#tutorial_" lesson "_program}"
    print ""
    print "The complete `" lesson "/main.cpp`, which CTest builds and runs as `tutorial:" lesson "`:"
    print ""
    print "\\include{lineno} " lesson "/main.cpp"
  }
}
