// Staff CSV import: send the chosen file as-is (the server detects UTF-8 or Shift_JIS), show the
// diff of a dry run, and enable "apply" only after a dry run of the same file succeeded.
(function () {
  var input = document.getElementById('staff-csv');
  var dry = document.getElementById('staff-dry-run');
  var apply = document.getElementById('staff-apply');
  var out = document.getElementById('staff-import-result');
  function send(mode) {
    var file = input.files && input.files[0];
    if (!file) {
      out.textContent = 'CSV ファイルを選んでください。';
      return;
    }
    out.textContent = mode === 'apply' ? '反映しています…' : '確認しています…';
    fetch('/admin/staff/import?mode=' + mode + '&name=' + encodeURIComponent(file.name), {
      method: 'POST',
      headers: { 'content-type': 'text/csv', 'x-csrf-token': dry.dataset.csrf, accept: 'application/json' },
      body: file,
      credentials: 'same-origin',
    })
      .then(function (r) {
        return r.json();
      })
      .then(function (res) {
        if (res.error) {
          out.textContent = res.error.message;
          apply.disabled = true;
          return;
        }
        if (!res.ok) {
          out.textContent =
            'エラーがあるため反映できません:\n' +
            res.errors
              .map(function (e) {
                return e.text;
              })
              .join('\n');
          apply.disabled = true;
          return;
        }
        var text = res.diff;
        if (res.applied) {
          text = '反映しました。\n' + text;
          if (res.added.length)
            text +=
              '\n\n追加した職員の初期パスワード (この画面を閉じると二度と表示できません):\n' +
              res.added
                .map(function (a) {
                  return a.loginId + '\t' + a.password;
                })
                .join('\n');
          apply.disabled = true;
        } else {
          text = '確認のみです (まだ反映していません)。\n' + text;
          apply.disabled = false;
        }
        out.textContent = text;
      })
      .catch(function (e) {
        out.textContent = '通信に失敗しました: ' + e;
      });
  }
  input.addEventListener('change', function () {
    apply.disabled = true;
    out.textContent = '';
  });
  dry.addEventListener('click', function () {
    send('dryRun');
  });
  apply.addEventListener('click', function () {
    send('apply');
  });
})();
