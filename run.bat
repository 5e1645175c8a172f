@echo off
rem GAN Studio in one command on Windows (the twin of run.sh).
rem   run.bat [PROJECT]     open the studio (python main.py inside .venv)
rem   run.bat test [ARGS]   run the tests (python -m pytest ARGS inside .venv, Qt offscreen)
rem   run.bat setup         only make .venv and install
rem The first call makes .venv beside this file and runs pip install -e ".[dev]" in it.
rem STUDIO_VENV=DIR uses another virtual environment; PYTHON=... the Python that makes it (default: py -3).
setlocal
set "HERE=%~dp0"
if "%STUDIO_VENV%"=="" (set "VENV=%HERE%.venv") else (set "VENV=%STUDIO_VENV%")
if "%PYTHON%"=="" (set "MAKER=py -3") else (set "MAKER=%PYTHON%")
set "STAMP=%VENV%\.gan-studio-installed"
if not exist "%VENV%\Scripts\python.exe" (
  echo GAN Studio: first start, making the virtual environment %VENV% 1>&2
  %MAKER% -m venv "%VENV%" || exit /b 2
  if exist "%STAMP%" del "%STAMP%"
)
if not exist "%STAMP%" (
  echo GAN Studio: installing into %VENV% ^(pip install -e ".[dev]", PyTorch included, a few minutes^) 1>&2
  "%VENV%\Scripts\python.exe" -m pip install --upgrade pip || exit /b 1
  "%VENV%\Scripts\python.exe" -m pip install -e "%HERE%.[dev]" || exit /b 1
  echo installed> "%STAMP%"
)
cd /d "%HERE%"
if /i "%~1"=="setup" (
  echo GAN Studio is installed in %VENV%
  exit /b 0
)
if /i "%~1"=="test" (
  if "%QT_QPA_PLATFORM%"=="" set "QT_QPA_PLATFORM=offscreen"
  shift
  goto :test
)
"%VENV%\Scripts\python.exe" main.py %*
exit /b %ERRORLEVEL%

:test
set "ARGS="
:collect
if "%~1"=="" goto :run_tests
set "ARGS=%ARGS% %1"
shift
goto :collect
:run_tests
"%VENV%\Scripts\python.exe" -m pytest %ARGS%
exit /b %ERRORLEVEL%
