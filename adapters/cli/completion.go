package cli

// completionCommand is `posthaste completion bash|zsh|fish`: the shell's completion script on
// stdout (commands, flags, and file names for arguments). Load it with
// `source <(posthaste completion bash)`, or install it where the shell looks:
// /etc/bash_completion.d/posthaste, a directory of $fpath as _posthaste,
// ~/.config/fish/completions/posthaste.fish.
func completionCommand() *spec {
	return &spec{path: "completion", synopsis: "bash|zsh|fish", summary: "print the shell completion script",
		run: func(c *call) error {
			if len(c.args) != 1 {
				return usagef("name one shell: bash, zsh or fish")
			}
			root := c.cmd.Root()
			switch c.args[0] {
			case "bash":
				return root.GenBashCompletionV2(c.stdout(), true)
			case "zsh":
				return root.GenZshCompletion(c.stdout())
			case "fish":
				return root.GenFishCompletion(c.stdout(), true)
			}
			return usagef("unknown shell %q (want bash, zsh or fish)", c.args[0])
		}}
}
