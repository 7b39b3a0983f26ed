// Quarto's `code-fold: show`: folded code starts open (nbdev's "Exported source").
document.addEventListener('DOMContentLoaded', () => {
  document.querySelectorAll('.tag_fold-open details').forEach(d => { d.open = true; });
});
