package service

// WaitAnnouncements waits for the info-event batches started so far (tests).
func (s *Service) WaitAnnouncements() { s.announcing.Wait() }
