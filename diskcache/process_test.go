package diskcache

// This file holds the tests that need a second process, which re-execute the
// test binary: TestMain runs runChild instead of the tests when childEnv is set.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/acachecontrol/acache"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	// childEnv names what a re-executed test binary does.
	childEnv = "DISKCACHE_TEST_CHILD"
	// childDirEnv holds the directory it works on.
	childDirEnv = "DISKCACHE_TEST_DIR"
)

// startChild starts the test binary as a child process doing what.
func startChild(t *testing.T, what, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+what, childDirEnv+"="+dir,
		// The race detector sleeps a second before a process exits, unless told not to.
		"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	return cmd
}

// runChild is the main function of a child process; it returns the exit code.
func runChild(what string) int {
	dir := os.Getenv(childDirEnv)
	switch what {
	case "write":
		return childWrite(dir)
	case "serve":
		return childServe(dir)
	case "fault":
		return childFault(dir)
	case "open":
		s, err := Open(dir, WithLockTimeout(100*time.Millisecond))
		if err == nil {
			s.Close()
			fmt.Println("Open succeeded")
			return 1
		}
		fmt.Println(err)
		if !errors.Is(err, ErrLocked) {
			return 2
		}
		return 0
	}
	fmt.Fprintf(os.Stderr, "unknown child %q\n", what)
	return 3
}

// childWrite stores, replaces, moves and removes entries, and commits and
// invalidates users' copies of URLs (Commit, and Pop of the URI), from four
// goroutines until it is killed, printing how many stores it made.
func childWrite(dir string) int {
	s, err := Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx := context.Background()
	var mu sync.Mutex
	stores := 0
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				key := fmt.Sprintf("https://example.com/%d/%d", w, i%300)
				var err error
				switch i % 10 {
				case 5:
					_, err = s.Pop(ctx, fmt.Sprintf("https://example.com/%d/u%d", w, i%7))
				case 6:
					err = commitUser(ctx, s, fmt.Sprintf("https://example.com/%d/u%d", w, i%7), i%13)
				case 7:
					err = s.MoveToEnd(ctx, fmt.Sprintf("https://example.com/%d/%d", w, i%150))
				case 8:
					_, err = s.Pop(ctx, fmt.Sprintf("https://example.com/%d/%d", w, (i*7)%300))
				case 9:
					_, _, err = s.PopOldest(ctx)
				default:
					err = s.Set(ctx, key, testEntry(key, (i*37)%9000))
				}
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				mu.Lock()
				stores++
				if stores%20 == 0 {
					fmt.Println(stores)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return 0
}

// commitUser commits a copy of uri for one user, listed in uri's index,
// over what the user's key holds.
func commitUser(ctx context.Context, s *Store, uri string, user int) error {
	key := fmt.Sprintf("%s\x00auth=%d", uri, user)
	old, err := s.Get(ctx, key)
	if err != nil {
		return err
	}
	e := testEntry(key, user*100)
	e.Version = rand.Uint64() | 1
	c := &acache.Commit{Key: key, Entry: e, Index: uri, MaxEntries: 1 << 20, MaxBytes: 1 << 40, MaxListed: 8}
	if old != nil {
		c.IfVersion = old.Version
	}
	_, err = s.Commit(ctx, c)
	return err
}

// testEntry returns a valid entry stored under key with a body of n bytes.
func testEntry(key string, n int) *acache.Entry {
	now := time.Now()
	return &acache.Entry{
		Key:          key,
		StatusCode:   200,
		Proto:        "HTTP/1.1",
		Header:       http.Header{"Cache-Control": {"max-age=600"}, "Content-Length": {strconv.Itoa(n)}},
		Body:         []byte(strings.Repeat("x", n)),
		RequestTime:  now,
		ResponseTime: now,
	}
}

func TestCrashLeavesConsistentStore(t *testing.T) {
	dir := t.TempDir()
	for round := range 3 {
		cmd := startChild(t, "write", dir)
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())
		lines := bufio.NewScanner(out)
		target := 100 + round*150 // kill at a different point each round
		for lines.Scan() {
			if n, _ := strconv.Atoi(lines.Text()); n >= target {
				break
			}
		}
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		cmd.Wait()
		require.Empty(t, stderr.String(), "the writing child reported an error")

		checkConsistent(t, dir)
	}
}

// checkConsistent opens the store in dir and checks that every entry in it
// decodes under its own key, that Len counts them, Size sums them, and that
// PopOldest reaches every one; it leaves the store as it found it.
func checkConsistent(t *testing.T, dir string) {
	t.Helper()
	ctx := t.Context()
	s, err := Open(dir)
	require.NoError(t, err, "Open after a crash")
	defer s.Close()
	require.NoError(t, s.Damage(), "the check took the file a crash left for damage")
	n, err := s.Len(ctx)
	require.NoError(t, err)
	_, size, err := s.Size(ctx)
	require.NoError(t, err)
	require.Positive(t, n, "nothing survived the crash")
	checkListings(t, s)

	var popped []*acache.Entry
	var sum int64
	for {
		key, e, err := s.PopOldest(ctx)
		require.NoError(t, err, "PopOldest after a crash: an entry that does not decode")
		if e == nil {
			break
		}
		assert.Equal(t, key, e.Key, "an entry stored under another key")
		assert.Equal(t, e.Header.Get("Content-Length"), strconv.Itoa(len(e.Body)), "a body cut short")
		popped = append(popped, e)
		sum += e.Size()
	}
	assert.Len(t, popped, n, "Len counts a different number of entries than PopOldest reaches")
	assert.Equal(t, sum, size, "Size differs from the sum of the entries' sizes")
	for _, e := range popped { // put them back, oldest first
		require.NoError(t, s.Set(ctx, e.Key, e))
	}
}

func TestSecondProcessFailsAtOpen(t *testing.T) {
	dir := t.TempDir()
	openDir(t, dir)
	cmd := startChild(t, "open", dir)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "the second process: %s", out)
	assert.Contains(t, string(out), "another process holds its lock", "the error does not say what is wrong")
	assert.Contains(t, string(out), dir, "the error does not name the directory")
}
