# Write the six novels of the Debian package r-cran-janeaustenr to plain
# UTF-8 text files, one file per novel, exactly as the package stores them
# (one element of the character vector per line).
# Usage: Rscript export_austen.R OUTDIR
library(janeaustenr)
args <- commandArgs(trailingOnly = TRUE)
outdir <- if (length(args) >= 1) args[1] else "."
dir.create(outdir, showWarnings = FALSE, recursive = TRUE)
novels <- c("sensesensibility", "prideprejudice", "mansfieldpark",
            "emma", "northangerabbey", "persuasion")
for (n in novels) {
  con <- file(file.path(outdir, paste0(n, ".txt")), open = "w", encoding = "UTF-8")
  writeLines(enc2utf8(get(n)), con)
  close(con)
}
cat("janeaustenr", as.character(packageVersion("janeaustenr")), "->", outdir, "\n")
