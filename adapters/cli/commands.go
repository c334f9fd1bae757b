package cli

// commands lists every command of the binary, one file each (the groups, such as `org` or
// `webhook`, are made from the paths).
func commands() []*spec {
	return []*spec{
		serveCommand(), migrateCommand(), statusCommand(), versionCommand(),
		orgCreate(), serverCreate(), serverUpdate(), userCreate(), userList(),
		domainCreate(), domainDNS(), domainVerify(), domainList(), domainRotateDKIM(),
		credentialCreate(), credentialList(), credentialUpdate(), credentialRevoke(),
		sendTest(), messageRelease(), messageCancelHold(),
		suppressionList(), suppressionAdd(), suppressionRemove(),
		eventsCommand(), messagesCommand(), messageShow(), statsCommand(),
		replayCommand(), projectionsChecksum(), projectionsList(),
		webhookCreate(), webhookList(), webhookUpdate(), webhookDisable(), webhookRotateSecret(),
		webhookDeliveries(), webhookRedeliver(), webhookReplay(), webhookTest(),
		bounceClassify(), bounceReports(), bounceShow(), dkimVerify(),
		completionCommand(), manCommand(),
	}
}
