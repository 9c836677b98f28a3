package service

// WaitAnnouncements waits for the info-event batches started so far (tests).
func (s *Service) WaitAnnouncements() { s.announcing.Wait() }

// Unrecorded counts the read-only requests served without a store record first (tests).
func (s *Service) Unrecorded() uint64 { return s.unrecordedServed.Load() }
